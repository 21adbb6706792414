"""``matteralign embed``."""

from __future__ import annotations

from matteralign.errors import MatteralignError


def register(sub) -> None:
    p = sub.add_parser("embed", help="embed (not implemented yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise MatteralignError("'embed' is not implemented yet")
