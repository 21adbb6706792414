"""``matteralign datasets``: the dataset registry as a table (sizes and roles), or one
dataset's details with ``--show NAME``."""

from __future__ import annotations

_SHORT = ["domain", "role", "size", "representations", "shipped", "licence"]


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list registered datasets with sizes and roles",
                       description="List registered datasets (name, domain, role, size, "
                       "representations, licence, shipped).")
    p.add_argument("--all-columns", action="store_true",
                   help="also show in/out-of-distribution-for, source and version")
    p.add_argument("--show", metavar="NAME", help="print one dataset's metadata")
    p.add_argument("--csv", action="store_true", help="print the table as CSV")
    p.set_defaults(func=run)


def run(args) -> int:
    from matteralign import datasets

    if args.show:
        meta = datasets.info(args.show).as_dict()
        width = max(map(len, meta))
        for key, value in meta.items():
            if isinstance(value, tuple | list):
                value = ", ".join(value)
            print(f"{key:<{width}}  {value}")
        return 0
    table = datasets.available()
    if not args.all_columns:
        table = table[_SHORT]
    if args.csv:
        print(table.to_csv(), end="")
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(table.to_string())
    return 0
