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

``--batching`` measures instead the batched extraction of the two offline interatomic
potentials (SevenNet, CHGNet) against their per-structure path and against each package's
own batched inference entry point, all in one run (ratios from one run are what counts on a
shared machine), and replaces the section "## Batched MLIP extraction" of RESULTS.md:

    PYTHONPATH=lib .venv/bin/python benchmarks/extraction.py --batching [--n 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

from _results import (  # benchmarks/_results.py (scripts run from this folder)
    cpu_name,
    replace_section,
)
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


# --------------------------------------------------------------------------- --batching
BATCH_HEADING = "## Batched MLIP extraction"


def _adapter_runner(make):
    adapter = make()

    def run(ds):
        adapter.embed(ds, progress=False, batch_size=len(ds))  # the adapter's batch_size rules
    return run


def _dask_runner(name: str, client):
    from matteralign.models.extract import extract

    def run(ds):
        extract(name, ds, workers=2, client=client, use_cache=False, progress=False,
                chunk_size=max(2, len(ds) // 8))
    return run


def _sevenn_inference_runner(key: str, batch_size: int):
    """``sevenn.scripts.inference.inference`` (SevenNet's batched inference entry point:
    DataLoader batches, energies + forces + stress, CSV output) on the same structures;
    its checkpoint load is timed separately and subtracted."""
    import tempfile

    import ase.io
    from sevenn import util
    from sevenn.scripts.inference import inference

    from matteralign.models._weights import torch_threads

    folder = tempfile.mkdtemp(prefix="sevenn-inference-")

    def run(ds):
        import contextlib
        import io as _io

        path = os.path.join(folder, f"structures-{len(ds)}.extxyz")
        if not os.path.exists(path):
            ase.io.write(path, [s.atoms for s in ds])

        with torch_threads(1), contextlib.redirect_stderr(_io.StringIO()), \
                contextlib.redirect_stdout(_io.StringIO()):
            t = time.perf_counter()
            util.model_from_checkpoint(key)
            load = time.perf_counter() - t
            inference(key, [path], os.path.join(folder, "out"), batch_size=batch_size,
                      allow_unlabeled=True)
        return load
    return run


def _chgnet_predict_runner(model, batch_size: int):
    """``CHGNet.predict_structure(list, task="e", batch_size=…)``: CHGNet's own batched
    inference (graph conversion + energy forward) on the same structures."""
    from matteralign.models._weights import torch_threads
    from matteralign.models.chgnet import to_structure

    def run(ds):
        with torch_threads(1):
            structures = [to_structure(s.atoms) for s in ds]  # as the adapter does, timed
            model.predict_structure(structures, task="e", batch_size=batch_size)
    return run


def batching_configs(model: str, client) -> list[tuple[str, object]]:
    """(label, runner(dataset)) of every configuration measured for ``model``."""
    if model.startswith("sevennet"):
        from matteralign.models import sevenn

        base = sevenn.SevenNetAdapter(model, batch_size=1, threads=1)
        base.model  # noqa: B018 - load once, share below

        def make(bs, th):
            def f():
                a = sevenn.SevenNetAdapter(model, batch_size=bs, threads=th)
                a._model, a._cutoff = base.model, base._cutoff
                return a
            return f
        today = [("per-structure (before: batch 1, 1 thread)", make(1, 1))]
        sizes, default = (4, 8, 16, 32), sevenn.BATCH_SIZE
        package = ("sevenn inference(), batch 16 (+ forces, stress)",
                   _sevenn_inference_runner(sevenn.CHECKPOINTS[model]["key"], 16))
    else:
        from matteralign.models import chgnet

        base = chgnet.CHGNetAdapter(model, batch_size=1, threads=1)
        base.model  # noqa: B018

        def make(bs, th):
            def f():
                a = chgnet.CHGNetAdapter(model, batch_size=bs, threads=th)
                a._model = base.model
                return a
            return f
        today = [("before: batch 16, 1 thread", make(16, 1)), ("per-structure: batch 1", make(1, 1))]
        sizes, default = (4, 8, 32, 64), chgnet.BATCH_SIZE
        package = ("CHGNet.predict_structure(batch_size=16, task='e')",
                   _chgnet_predict_runner(base.model, 16))
    out = [(label, _adapter_runner(f)) for label, f in today]
    out += [(f"batch {bs}, 1 thread", _adapter_runner(make(bs, 1))) for bs in sizes]
    out += [(f"batch {default}, 2 threads", _adapter_runner(make(default, 2)))]
    if client is not None:
        out += [(f"batch {default}, Dask 2 processes x 1 thread", _dask_runner(model, client))]
    out.append(package)
    return out


def run_batching(args) -> list[dict]:
    sets = load_datasets(args.n, args.datasets.split(","))
    models = args.models.split(",") if args.models else ["sevennet-0", "chgnet-0.3.0"]
    client = cluster = None
    if not args.no_dask:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    rows = []
    try:
        for model in models:
            configs = batching_configs(model, client)
            for ds in sets:
                for _, run in configs:  # warm-up (worker model loads, first calls) on 4 structures
                    run(ds[: min(4, len(ds))])
                best = {label: np.inf for label, _ in configs}
                for _ in range(args.rounds):  # interleaved rounds: the machine's load hits all alike
                    for label, run in configs:
                        t = time.perf_counter()
                        load = run(ds) or 0.0
                        best[label] = min(best[label], time.perf_counter() - t - load)
                ref = best[configs[0][0]]
                n_atoms = sum(len(s.atoms) for s in ds)
                for label, _ in configs:
                    r = {"model": model, "dataset": ds.name, "n": len(ds), "atoms": n_atoms,
                         "config": label, "seconds": best[label], "per_s": len(ds) / best[label],
                         "ratio": ref / best[label], "load": _load()}
                    rows.append(r)
                    print(f"{model:14s} {ds.name:12s} {label:52s} {r['per_s']:7.2f}/s  "
                          f"x{r['ratio']:.2f}", flush=True)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return rows


def write_batching_section(rows: list[dict], args, path: Path = RESULTS) -> None:
    loads = [r["load"] for r in rows] + [_load()]
    lines = [
        BATCH_HEADING,
        "",
        f"`benchmarks/extraction.py --batching --n {args.n} --rounds {args.rounds} --datasets "
        f"{args.datasets}` on {cpu_name()}, {os.cpu_count()} CPU cores, device cpu, default layer "
        f"(1-minute load average {min(loads):.1f}–{max(loads):.1f} during the run"
        + (": the machine was shared with other engineers' jobs, so absolute numbers are low and "
           "noisy" if max(loads) > 1.5 * (os.cpu_count() or 1) else ": an otherwise idle machine")
        + "; every configuration of one model and dataset ran interleaved in the same rounds, best round "
        "kept, so the ratios compare like with like). Ratio = structures/s over the first row "
        "of its group (the code before batching). Package entry points do more work (SevenNet: "
        "forces and stress) and are listed for reference; sevenn's checkpoint load is "
        "subtracted.",
        "",
        "| model | dataset | N | atoms | configuration | structures/s | ratio |",
        "|---|---|---:|---:|---|---:|---:|",
        *[f"| {r['model']} | {r['dataset']} | {r['n']} | {r['atoms']} | {r['config']} | "
          f"{r['per_s']:.2f} | {r['ratio']:.2f}× |" for r in rows],
    ]
    best = {}
    for r in rows:
        if "inference()" in r["config"] or "predict_structure" in r["config"]:
            continue
        key = (r["model"], r["dataset"])
        if key not in best or r["ratio"] > best[key]["ratio"]:
            best[key] = r
    if best:
        lines += ["", "Fastest configuration of ours per model and dataset (ratio over the code "
                  "before batching): " + "; ".join(
                      f"{m} on {d}: {r['config']}, {r['ratio']:.2f}×"
                      for (m, d), r in best.items()) + "."]
    # right after the extraction-throughput section when it is new
    replace_section(path, BATCH_HEADING, "\n".join(lines) + "\n", after=HEADING)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--models", default="", help="comma-separated names (default: every offline model)")
    p.add_argument("--datasets", default="qm9,mptrj-random", help="molecule and materials dataset names")
    p.add_argument("--update", action="store_true", help="replace only the rows of the models run")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--batching", action="store_true", help="batched vs per-structure MLIP extraction")
    p.add_argument("--rounds", type=int, default=2, help="--batching: interleaved rounds")
    p.add_argument("--no-dask", action="store_true", help="--batching: skip the two-process Dask rows")
    args = p.parse_args(argv)
    if args.batching:
        rows = run_batching(args)
        if not args.no_write:
            write_batching_section(rows, args)
            print(f"wrote {RESULTS}")
        return
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
