"""``matteralign models``."""

from __future__ import annotations

from matteralign.errors import MatteralignError


def register(sub) -> None:
    p = sub.add_parser("models", help="models (not implemented yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise MatteralignError("'models' is not implemented yet")
