"""``matteralign models``: list every registered model with its metadata and whether its
weights are on this machine.

Long cells (training data, family, the status saying what to download and where) are cut
with an ellipsis to keep one model per line; ``--wide`` prints them in full, and the footer
says so whenever something was cut. Models of installed plugins are listed too."""

from __future__ import annotations

import json
import sys

COLUMNS = ["modality", "family", "architecture", "training_data", "n_params", "weights_here", "status"]


def register(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list registered models, their metadata and availability",
        description="List every registered model: modality, family, architecture, training data, "
        "parameter count, whether its weights are here and what to do if not.",
    )
    p.add_argument("--modality", choices=["string", "graph", "3d", "protein", "descriptor"],
                   help="only this modality")
    p.add_argument("--available-only", action="store_true", help="only models whose weights are here")
    p.add_argument("--json", action="store_true", help="full metadata as JSON (one object per model)")
    p.add_argument("--wide", action="store_true",
                   help="do not cut long cells (the status says where to download weights)")
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from matteralign import models

    table = models.available(modality=args.modality, only_here=args.available_only)
    if args.json:
        records = {}
        for name in table.index:  # from ModelInfo itself: no pandas NaN in the JSON
            rec = models.info(name).as_dict()
            rec.pop("name")
            rec.update(weights_here=bool(table.loc[name, "weights_here"]), status=table.loc[name, "status"])
            records[name] = rec
        json.dump(records, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    if table.empty:
        print("no models match")
        return 0
    rows = [[name, r["modality"], r["family"], r["architecture"], r["training_data"] or "-",
             f"{int(r['n_params']):,}" if pd.notna(r["n_params"]) else "-",
             "yes" if r["weights_here"] else "no", r["status"]]
            for name, r in table.iterrows()]
    text, cut = _table(["name", *COLUMNS], rows, wide=args.wide)
    print(text)
    n_here = int(table["weights_here"].sum())
    hint = "cells cut with …: --wide shows them in full; " if cut else ""
    print(f"\n{len(table)} models, {n_here} with weights here. {hint}"
          "Details: matteralign models --json; extract: matteralign embed --model NAME --dataset NAME")
    return 0


WIDTH = {"training_data": 34, "status": 70, "family": 20}


def _table(header: list[str], rows: list[list[str]], wide: bool = False) -> tuple[str, bool]:
    """Left-aligned plain-text table and whether a cell was cut: long cells are cut with an
    ellipsis unless ``wide``."""
    was_cut = False

    def cut(col: str, text) -> str:
        nonlocal was_cut
        text = " ".join(str(text).split())
        w = None if wide else WIDTH.get(col)
        if w is None or len(text) <= w:
            return text
        was_cut = True
        return text[: w - 1] + "…"

    cells = [[cut(c, v) for c, v in zip(header, row, strict=True)] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines), was_cut

