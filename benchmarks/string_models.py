"""Throughput (molecules/s) of the offline string models on real SMILES, on this CPU.

Models: ChemNet, the three RXN-BERT checkpoints, their random twins and the SMILES-token
control (``--models`` to choose). Datasets: ``nci-organics`` and ``qm9`` (their SMILES, read
as each model reads them: RDKit-canonicalised, which is part of the time). For each model and
dataset the model is loaded and warmed up on two molecules (load time reported separately),
then ``embed`` runs over ``--n`` molecules on one process at the default layer and pooling;
the best of ``--repeat`` runs is kept. The table replaces the section
"## String models (`benchmarks/string_models.py`)" of ``benchmarks/RESULTS.md`` and nothing
else (atomic write).

    PYTHONPATH=lib .venv/bin/python benchmarks/string_models.py [--n 200] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from _results import replace_section  # benchmarks/_results.py (scripts run from this folder)
from matteralign import datasets
from matteralign.models import registry

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## String models (`benchmarks/string_models.py`)"
MODELS = ("chemnet", "chemnet-random", "rxnbert-pretrained", "rxnbert-pretrained-random", "rxnbert-ft",
          "rxnbert-ft-random", "rxnbert-ft-10k-25s", "rxnbert-ft-10k-25s-random", "smiles-tokens")


def bench(name: str, ds, repeat: int) -> dict:
    """Load + warm-up time and the best molecules/s of ``repeat`` runs of ``embed``."""
    t0 = time.perf_counter()
    adapter = registry.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ChemNet's unknown-character notes
        adapter.embed(ds[:2], progress=False)
        load_s = time.perf_counter() - t0
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            emb = adapter.embed(ds, progress=False)
            best = min(best, time.perf_counter() - t)
    length = float(np.mean([len(s.smiles) for s in ds]))
    return {"model": name, "dataset": ds.name, "n": len(ds), "length": length,
            "dim": emb.sizes["feature"], "per_s": len(ds) / best, "load_s": load_s,
            "unknown": emb.attrs.get("unknown_characters"), "load": os.getloadavg()[0]}


def _row(r: dict) -> str:
    return (f"| {r['model']} | {r['dataset']} | {r['n']} | {r['length']:.1f} | {r['dim']} | "
            f"{r['per_s']:.1f} | {r['load_s']:.1f} | {1e4 / r['per_s'] / 60:.1f} |")


def section(rows: list[dict], args) -> str:
    loads = [r["load"] for r in rows]
    import torch

    unknown = {r["dataset"]: r["unknown"] for r in rows if r["model"] == "chemnet"}
    lines = [
        HEADING,
        "",
        f"`benchmarks/string_models.py --n {args.n} --repeat {args.repeat}` on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, one process, "
        f"torch {torch.__version__} on one intra-op thread (the adapters' default), default layer "
        f"and pooling (1-minute load average {min(loads):.1f}–{max(loads):.1f} during the run, from "
        "other work on the same cores: lower bounds). Molecules/s is the best of the repeats after a "
        "warm-up and includes RDKit canonicalisation and tokenisation; load is model construction "
        "plus the warm-up. SMILES length is the mean number of characters as the dataset writes them. "
        "ChemNet read "
        + ", ".join(f"{v} characters outside its alphabet in {k}" for k, v in unknown.items())
        + " (as its unknown token).",
        "",
        "| model | dataset | N | SMILES length | features | molecules/s | load (s) | 10k molecules (min) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *[_row(r) for r in rows],
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it); other sections stay."""
    replace_section(path, HEADING, text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--datasets", default="nci-organics,qm9")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    rows = []
    for dname in args.datasets.split(","):
        ds = datasets.load(dname, n=args.n, seed=0)
        for name in args.models.split(","):
            r = bench(name, ds, args.repeat)
            rows.append(r)
            print(f"{name:28s} {ds.name:14s} {r['per_s']:8.1f} molecules/s  D={r['dim']:4d}  "
                  f"load {r['load_s']:.1f}s  (load average {r['load']:.1f})", flush=True)
    text = section(rows, args)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
