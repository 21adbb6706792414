"""Cold start: the first ``metrics.align`` of a fresh process, with JAX's persistent
compilation cache off, cold (empty folder) and warm (filled by the previous process).

Inputs are real embeddings: ``--n`` QM9 molecules (seed 0) by ``--models`` (two MLIPs, a
SMILES network and three descriptors, 64 to 512 features), extracted once into the project's
embeddings cache (a few minutes on 2 CPU cores the first time, seconds afterwards) and written
to one ``.npz`` that every child process reads. (Descriptors with thousands of features, such
as SOAP or MBTR, make the first call dominated by CKA's ``D_a × D_b`` products instead.) Each child imports matteralign, loads the arrays, then times its first
``align`` call (tracing + compilation or cache loading + computing) and a second identical
call (computing only). Conditions are repeated ``--repeats`` times, in fresh processes and,
for "cold", in a fresh cache folder each time; the medians are reported.

Usage::

    PYTHONPATH=lib .venv/bin/python benchmarks/cold_start.py                 # ~3 min
    PYTHONPATH=lib .venv/bin/python benchmarks/cold_start.py --markdown      # table rows
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from _results import cpu_name  # benchmarks/_results.py (scripts run from this folder)

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from matteralign import metrics
t_import = time.perf_counter() - t0
f = np.load(sys.argv[1])
xs = {name: f[name] for name in f.files}
names = tuple(sys.argv[2].split(","))
t = time.perf_counter()
metrics.align(xs, metrics=names, k=int(sys.argv[3]), progress=False)
first = time.perf_counter() - t
t = time.perf_counter()
metrics.align(xs, metrics=names, k=int(sys.argv[3]), progress=False)
second = time.perf_counter() - t
print(json.dumps({"import": t_import, "first": first, "second": second}))
"""


def write_inputs(path: Path, models: list[str], n: int) -> None:
    import numpy as np

    from matteralign import models as registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arrays = {m: registry.extract(m, "qm9", n=n, seed=0, progress=False).values
                  for m in models}
    np.savez(path, **{m: np.asarray(x, dtype=np.float32) for m, x in arrays.items()})


def child(inputs: Path, metric_names: str, k: int, cache: str) -> dict[str, float]:
    env = {key: v for key, v in os.environ.items() if key != "JAX_COMPILATION_CACHE_DIR"}
    env["MATTERALIGN_JAX_CACHE"] = cache
    out = subprocess.run([sys.executable, "-c", CHILD, str(inputs), metric_names, str(k)],
                         env=env, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="QM9 molecules")
    p.add_argument("--models",
                   default="chgnet-0.3.0,sevennet-0,chemnet,coulomb-eigen,composition,rdkit-2d")
    p.add_argument("--metrics", default="cknna,mutual_knn,cka,dcor,info_imbalance")
    p.add_argument("-k", type=int, default=25)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    args = p.parse_args(argv)

    rows: dict[str, list[dict[str, float]]] = {"off": [], "cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs.npz"
        write_inputs(inputs, args.models.split(","), args.n)
        for r in range(args.repeats):
            folder = str(Path(tmp) / f"jax-cache-{r}")
            rows["off"].append(child(inputs, args.metrics, args.k, "0"))
            rows["cold"].append(child(inputs, args.metrics, args.k, folder))
            rows["warm"].append(child(inputs, args.metrics, args.k, folder))

    m = len(args.models.split(","))
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; align of M = {m} QM9 representations "
          f"({args.models}), N = {args.n}, k = {args.k}, metrics {args.metrics}; "
          f"median of {args.repeats} fresh processes")
    labels = {"off": "cache off (`MATTERALIGN_JAX_CACHE=0`)", "cold": "cache cold (empty folder)",
              "warm": "cache warm (second process)"}
    for cond, runs in rows.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        if args.markdown:
            print(f"| {labels[cond]} | {med['import']:.2f} | {med['first']:.2f} | "
                  f"{med['second']:.2f} |")
        else:
            each = ", ".join(f"{run['first']:.2f}" for run in runs)
            print(f"{cond:5s} import {med['import']:.2f} s  first align {med['first']:.2f} s  "
                  f"second align {med['second']:.2f} s  (first align each run: {each})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
