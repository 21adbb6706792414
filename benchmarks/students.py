"""The materials students' ladder: training time and held-out errors of every committed rung.

Reads ``data/models/materials/<rung>/metrics.json`` (written by
``python -m matteralign.train materials/<rung>``) and the labelling cost from
``data/students/DATASHEET.md``; prints one table per rung (time of each rung, errors against
the teacher and against DFT), the seed-to-seed spread at the size trained under three seeds,
and, with ``--retrain RUNG``, retrains that rung into a temporary folder and reports how far
its held-out errors land from the committed ones. With ``--write`` the text replaces the
section "## Materials students" of ``benchmarks/RESULTS.md`` and nothing else (atomic).

    PYTHONPATH=lib .venv/bin/python benchmarks/students.py [--retrain RUNG|none] [--write]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from _results import replace_section  # benchmarks/_results.py (scripts run from this folder)
from matteralign.models.ladder import models_root
from matteralign.train import students

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Materials students"


def committed() -> list[dict]:
    out = []
    for c in students.student_configs():
        path = models_root() / c.ladder / c.rung / "metrics.json"
        if path.is_file():
            out.append(json.loads(path.read_text(encoding="utf-8")))
    return out


def table(rows: list[dict]) -> list[str]:
    lines = ["| rung | structures (atoms) | epochs (best) | CPU s | wall s | vs teacher: E (eV/atom) | "
             "F (eV/Å) | vs DFT: E raw | E refit | F (eV/Å) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        t, d = m["test_mae"], m["dft_mae"]
        lines.append(
            f"| {m['rung']} | {m['train_size']} ({m['train_atoms']}) | {m['epochs_run']} "
            f"({m['best_epoch']}) | {m['total_cpu_seconds']:.0f} | {m['total_seconds']:.0f} | "
            f"{t['energy_per_atom']:.3f} | {t['forces']:.3f} | {d['energy_per_atom']:.3f} | "
            f"{d['energy_per_atom_refit']:.3f} | {d['forces']:.3f} |")
    return lines


def spread(rows: list[dict]) -> list[str]:
    group = [m for m in rows if m["train_size"] == students.STUDENT_SEED_SIZE
             and m["width"] == students.STUDENT_SEED_WIDTH]
    if len(group) < 2:
        return []
    out = [f"Seed-to-seed spread ({len(group)} seeds, {students.STUDENT_SEED_SIZE} structures, "
           f"width {students.STUDENT_SEED_WIDTH}; each seed draws its own training subset and "
           "initial weights): "]
    parts = []
    for key, label in (("test_mae", "vs teacher"), ("dft_mae", "vs DFT")):
        for t, unit in (("energy_per_atom", "eV/atom"), ("forces", "eV/Å")):
            v = np.array([m[key][t] for m in group])
            parts.append(f"{label} {t} {v.mean():.3f} ± {v.std(ddof=1):.3f} {unit} "
                         f"(range {v.min():.3f}–{v.max():.3f})")
    return [out[0] + "; ".join(parts) + "."]


def retrain(rung: str) -> list[str]:
    from matteralign.train.__main__ import resolve_config

    config = resolve_config(f"{students.LADDER}/{rung}")
    old = json.loads((models_root() / config.ladder / config.rung / "metrics.json").read_text())
    t0 = time.perf_counter()
    new = students.train_student(config, progress=False).metrics
    wall = time.perf_counter() - t0
    diffs = []
    for key in ("test_mae", "dft_mae"):
        for t, v in new[key].items():
            ref = old[key][t]
            diffs.append(f"{key.removesuffix('_mae')} {t} {v:.4f} vs {ref:.4f} ({(v - ref) / ref * 100:+.2f} %)")
    return [f"Retraining `{rung}` here ({wall:.0f} s wall, {new['epochs_run']} epochs, best "
            f"{new['best_epoch']}; committed {old['epochs_run']}, best {old['best_epoch']}): "
            + "; ".join(diffs) + "."]


def labelling() -> str:
    sheet = students_root() / "DATASHEET.md"
    text = sheet.read_text(encoding="utf-8") if sheet.is_file() else ""
    cost = re.search(r"## Labelling cost\n\n(.+)", text)
    teacher = re.search(r"(The teacher against the DFT labels.+)", text)
    return " ".join(x.group(1) for x in (cost, teacher) if x)


def dft_zero_force() -> float:
    """Mean |DFT force component| of the ``dft`` structures: the force MAE of F = 0."""
    from matteralign import datasets
    from matteralign.train.teacher import DFT_HELD_OUT

    name, n, seed = DFT_HELD_OUT
    return float(np.mean(np.abs(np.concatenate(
        [np.asarray(s.labels["forces"], float) for s in datasets.load(name, n=n, seed=seed)]))))


def students_root() -> Path:
    from matteralign.datasets._paths import data_dir

    return data_dir() / "students"


def section(rows: list[dict], extra: list[str]) -> str:
    cpu = sum(m["total_cpu_seconds"] for m in rows)
    wall = sum(m["total_seconds"] for m in rows)
    base = {m["train_size"]: m["baseline_test_mae"] for m in rows if m["width"] == 32 and m["seed"] == 0}
    lines = [HEADING, "",
             "`python -m matteralign.train materials/<rung>` (one torch thread, under `nice -n 19` "
             "on the shared 2-core machine, two rungs at a time beside the QM9 ladder and other "
             "jobs); periodic SchNet students of sevennet-l3i5 "
             "(`lib/matteralign/train/students.py`). vs teacher: the 150 held-out `test` "
             "structures of `data/students/teacher-labels.xyz.xz`; vs DFT: the 200 mptrj-random "
             "structures of notebook 03's error set (E refit: after the cross-validated "
             "per-element refit). Written by `benchmarks/students.py`.", ""]
    lines += table(rows)
    lines += ["", f"All {len(rows)} students: {cpu / 60:.1f} CPU min ({wall / 60:.1f} min wall)."]
    if base:
        lines += ["", "Floor (the per-element reference energies fitted on a rung's training set, "
                      "with F = 0) on the `test` structures: " + "; ".join(
                          f"{n} structures {b['energy_per_atom']:.3f} eV/atom, {b['forces']:.3f} eV/Å"
                          for n, b in sorted(base.items())) + f". F = 0 on the DFT structures: "
                      f"{dft_zero_force():.3f} eV/Å (mean |F_DFT|; they are MPtrj relaxation "
                      "frames, not minima)."]
    for chunk in (spread(rows), extra, [labelling()] if labelling() else []):
        if chunk:
            lines += [""] + chunk
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--retrain", default="student-n100-w32-s0",
                   help="a rung to retrain and compare ('none': skip); default %(default)s")
    p.add_argument("--write", action="store_true", help=f"replace '{HEADING}' in {RESULTS.name}")
    args = p.parse_args()
    rows = committed()
    extra = retrain(args.retrain) if args.retrain != "none" else []
    text = section(rows, extra)
    print(text)
    if args.write:
        replace_section(RESULTS, HEADING, text.rstrip("\n"))


if __name__ == "__main__":
    main()
