"""``matteralign align``."""

from __future__ import annotations

from matteralign.errors import MatteralignError


def register(sub) -> None:
    p = sub.add_parser("align", help="align (not implemented yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise MatteralignError("'align' is not implemented yet")
