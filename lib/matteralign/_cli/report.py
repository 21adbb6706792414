"""``matteralign report``."""

from __future__ import annotations

from matteralign.errors import MatteralignError


def register(sub) -> None:
    p = sub.add_parser("report", help="execute notebooks with papermill (not implemented yet)")
    p.add_argument("--run", action="store_true")
    p.add_argument("--notebook", default=None)
    p.set_defaults(func=run)


def run(args) -> int:
    raise MatteralignError("'report' is not implemented yet")
