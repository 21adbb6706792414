"""Training time and held-out error of every committed QM9 ladder rung, into RESULTS.md.

Reads ``data/models/qm9/<rung>/metrics.json`` (written by ``python -m matteralign.train``)
and writes the section "Model ladder: training times" of ``benchmarks/RESULTS.md``: one row
per rung (epochs, wall and CPU seconds, held-out MAEs on the fixed 10,000 test molecules),
the error span within each modality, the seed-to-seed spread at the sizes trained under
three seeds, and the total.

    python benchmarks/ladder_training.py [--note "machine and load"] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from _results import cpu_name, replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## Model ladder: training times (`benchmarks/ladder_training.py`)"


def load_rungs(ladder: str = "qm9") -> list[dict]:
    out = []
    for path in sorted((ROOT / "data" / "models" / ladder).glob("*/metrics.json")):
        out.append(json.loads(path.read_text(encoding="utf-8")))
    order = {"transformer": 0, "mpnn": 1, "schnet": 2}
    return sorted(out, key=lambda m: (order.get(m["architecture"], 9), m["train_size"],
                                      m["width"], m["seed"]))


def section(rungs: list[dict], note: str) -> str:
    lines = [HEADING, "",
             f"{len(rungs)} rungs of the QM9 ladder, each trained by `nice -n 19 python -m "
             f"matteralign.train qm9/<rung> --no-progress` (one torch thread), two at a time, on "
             f"{cpu_name()} ({os.cpu_count()} cores). {note}".rstrip(), "",
             "| rung | modality | n train | width | seed | epochs (best) | wall s | CPU s | "
             "s/epoch | MAE energy (eV/atom) | MAE gap (eV) |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for m in rungs:
        lines.append(
            f"| {m['rung']} | {m['modality']} | {m['train_size']} | {m['width']} | {m['seed']} "
            f"| {m['epochs_run']} ({m['best_epoch']}) | {m['total_seconds']:.0f} "
            f"| {m['total_cpu_seconds']:.0f} | {m['seconds_per_epoch']:.2f} "
            f"| {m['test_mae']['energy_per_atom']:.4f} | {m['test_mae']['gap']:.3f} |")
    total_wall = sum(m["total_seconds"] for m in rungs)
    total_cpu = sum(m["total_cpu_seconds"] for m in rungs)
    lines += ["", f"Total: {total_cpu / 3600:.2f} CPU hours, {total_wall / 3600:.2f} hours of "
              f"rung wall time (two rungs at a time: about {total_wall / 7200:.2f} h on the "
              "machine).", ""]
    lines += ["| modality | rungs | best energy MAE | worst | span (worst / best) | best gap MAE "
              "| worst | span |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for modality in ("string", "graph", "3d"):
        mine = [m for m in rungs if m["modality"] == modality]
        if not mine:
            continue
        e = [m["test_mae"]["energy_per_atom"] for m in mine]
        g = [m["test_mae"]["gap"] for m in mine]
        lines.append(f"| {modality} | {len(mine)} | {min(e):.4f} | {max(e):.4f} | "
                     f"{max(e) / min(e):.1f}× | {min(g):.3f} | {max(g):.3f} | "
                     f"{max(g) / min(g):.1f}× |")
    lines += ["", "Seed-to-seed spread (same architecture, size and width; seeds 0, 1, 2): "
              "standard deviation and range of the held-out MAEs.", "",
              "| architecture | n train | width | energy MAE mean ± sd (range) | "
              "gap MAE mean ± sd (range) |", "|---|---:|---:|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for m in rungs:
        groups.setdefault((m["architecture"], m["train_size"], m["width"]), []).append(m)
    for (arch, n, w), ms in groups.items():
        if len(ms) < 2:
            continue
        cells = []
        for t in ("energy_per_atom", "gap"):
            v = [m["test_mae"][t] for m in ms]
            cells.append(f"{statistics.mean(v):.4f} ± {statistics.stdev(v):.4f} "
                         f"({min(v):.4f}–{max(v):.4f})")
        lines.append(f"| {arch} | {n} | {w} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--note", default="", help="a sentence on the machine's load")
    p.add_argument("--dry-run", action="store_true", help="print instead of writing")
    args = p.parse_args()
    text = section(load_rungs(), args.note)
    if args.dry_run:
        print(text)
    else:
        replace_section(RESULTS, HEADING, text, after="## String models (`benchmarks/string_models.py`)")
        print(f"wrote {HEADING!r} to {RESULTS}")


if __name__ == "__main__":
    main()
