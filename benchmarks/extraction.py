"""Extraction throughput (structures/s) of every model whose weights are here, on this CPU.

For each offline model and each dataset it applies to, the model is loaded and warmed up on
two structures (load time reported separately), then ``embed`` runs over ``--n`` structures
on one process; the best of ``--repeat`` runs is kept. The table replaces the section
"## Extraction throughput" of ``benchmarks/RESULTS.md`` (other sections are left as they
are; the file is written atomically).

Datasets (``--datasets``): the shipped ``qm9`` molecules and ``mptrj-random`` crystals
through ``matteralign.datasets.load``; where a name cannot be loaded, real structures from ASE:
the G2 molecule set (Curtiss et al. 1997; 162 small molecules) and ASE's reference bulk
crystals (elemental ground states), so the benchmark runs on any checkout.

    PYTHONPATH=lib .venv/bin/python benchmarks/extraction.py [--n 200] [--models soap,acsf]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

from matteralign import io
from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.models import registry

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Extraction throughput"


def _ase_molecules(n: int) -> Dataset:
    from ase.collections import g2

    names = sorted(g2.names)
    samples = [Sample(f"g2-{name}", atoms=g2[name]) for name in names]
    samples = [s for s in samples if len(s.atoms) > 1]
    reps = (n + len(samples) - 1) // len(samples)
    chosen = [Sample(f"{s.id}-{r}", atoms=s.atoms) for r in range(reps) for s in samples][:n]
    return Dataset(DatasetInfo("ase-g2", "molecules", version="ase", source="ase.collections.g2"), chosen)


def _ase_crystals(n: int) -> Dataset:
    from ase.build import bulk
    from ase.data import chemical_symbols, reference_states

    samples = []
    for z, state in enumerate(reference_states):
        if state and state.get("symmetry") in ("fcc", "bcc", "diamond", "hcp", "sc"):
            sym = chemical_symbols[z]
            try:
                samples.append(Sample(f"bulk-{sym}", atoms=bulk(sym) * (2, 2, 2)))
            except Exception:  # a few reference states lack the lattice constants bulk() needs
                continue
    reps = (n + len(samples) - 1) // len(samples)
    chosen = [Sample(f"{s.id}-{r}", atoms=s.atoms) for r in range(reps) for s in samples][:n]
    return Dataset(DatasetInfo("ase-bulk", "materials", version="ase", source="ase.build.bulk"), chosen)


def load_datasets(n: int, names: list[str]) -> list[Dataset]:
    out = []
    try:
        from matteralign import datasets

        loader = datasets.load
    except (ImportError, AttributeError):
        loader = None
    for name in names:
        if loader is not None:
            try:
                out.append(loader(name, n=n, seed=0))
                continue
            except Exception as exc:  # noqa: BLE001 - fall back to ASE structures, say so
                print(f"dataset {name!r} not loadable ({type(exc).__name__}: {exc}); using ASE structures")
        out.append(_ase_molecules(n) if name in ("qm9", "molecules") else _ase_crystals(n))
    return out


def bench(name: str, ds: Dataset, repeat: int) -> dict:
    t0 = time.perf_counter()
    adapter = registry.get(name)
    adapter.embed(ds[:2], progress=False)  # load lazily-built parts, warm caches
    load_s = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        emb = adapter.embed(ds, progress=False)
        best = min(best, time.perf_counter() - t)
    n_atoms = sum(len(s.atoms) for s in ds if s.atoms is not None)
    return {"load": _load(), "model": name, "dataset": ds.name, "n": len(ds), "atoms": n_atoms, "dim": emb.sizes["feature"],
            "seconds": best, "per_s": len(ds) / best, "atoms_per_s": n_atoms / best, "load_s": load_s}


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _row(r: dict) -> str:
    return (f"| {r['model']} | {r['dataset']} | {r['n']} | {r['atoms']} | {r['dim']} | "
            f"{r['per_s']:.1f} | {r['atoms_per_s']:.0f} | {r['load_s']:.1f} | {1e4 / r['per_s'] / 60:.1f} |")


def write_section(rows: list[dict], args, path: Path = RESULTS) -> None:
    """Replace the section (or, with ``--update``, only the rows of the models re-measured)."""
    loads = [r["load"] for r in rows] + [_load()]
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    old = pattern.search(text)
    if args.update and old:
        new = {(r["model"], r["dataset"]): _row(r) for r in rows}
        lines = []
        for line in old.group(0).rstrip("\n").split("\n"):
            cells = [c.strip() for c in line.split("|")]
            key = (cells[1], cells[2]) if len(cells) > 3 else None
            lines.append(new.pop(key) if key in new else line)
        lines += list(new.values())
        models = ", ".join(sorted({r["model"] for r in rows}))
        lines[2] += (f" Rows of {models} re-measured with `--update --n {args.n}` "
                     f"(load average {min(loads):.1f}–{max(loads):.1f}).")
    else:
        lines = [
            HEADING,
            "",
            f"`benchmarks/extraction.py --n {args.n} --repeat {args.repeat} --datasets {args.datasets}` on "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, one process, device "
            f"cpu, default layer and pooling (1-minute load average {min(loads):.1f}–{max(loads):.1f} during "
            "the run; other work on the machine slows these numbers). Structures/s is the best of the "
            "repeats after a warm-up; load is model construction plus the warm-up.",
            "",
            "| model | dataset | N | atoms | features | structures/s | atoms/s | load (s) | 10k structures (min) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            *[_row(r) for r in rows],
        ]
    section = "\n".join(lines) + "\n"
    text = pattern.sub(lambda _: section + "\n", text) if old else text.rstrip() + "\n\n" + section
    with io.atomic_path(path) as tmp:
        tmp.write_text(text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--models", default="", help="comma-separated names (default: every offline model)")
    p.add_argument("--datasets", default="qm9,mptrj-random", help="molecule and materials dataset names")
    p.add_argument("--update", action="store_true", help="replace only the rows of the models run")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    sets = load_datasets(args.n, args.datasets.split(","))
    rows = []
    for ds in sets:
        names = args.models.split(",") if args.models else registry.offline_names(domain=ds.info.domain)
        for name in names:
            info = registry.info(name)
            if info.domains and ds.info.domain not in info.domains:
                continue
            try:
                r = bench(name, ds, args.repeat)
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"{name} on {ds.name}: {type(exc).__name__}: {exc}")
                continue
            rows.append(r)
            print(f"{name:32s} {ds.name:12s} {r['per_s']:9.1f} structures/s  {r['atoms_per_s']:9.0f} atoms/s  "
                  f"D={r['dim']:6d}  load {r['load_s']:.1f}s", flush=True)
    if not args.no_write:
        write_section(rows, args)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
