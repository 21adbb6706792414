"""``matteralign datasets``."""

from __future__ import annotations

from matteralign.errors import MatteralignError


def register(sub) -> None:
    p = sub.add_parser("datasets", help="datasets (not implemented yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise MatteralignError("'datasets' is not implemented yet")
