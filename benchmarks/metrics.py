"""Metric benchmark: matteralign's all-pairs metrics against the field's reference codes.

Every row of the table is measured in the same run, on the same inputs: M models that are
random nonlinear maps of one shared latent (so alignment is non-trivial), N samples,
D features, float32. "ours" computes all pairs of M models; a peer's per-pair cost is the
median over ``--pairs`` measured pairs and its all-pairs time is that cost times the number
of pair computations it needs (marked "extrapolated"). Ratios, not timings, are the point.

Peers: the literal dense CKNNA (``cknna(..., method="dense")``, O(N³) per pair like the
reference code of Huh et al.), ``dcor`` looped over pairs, DADApy (in its own virtual
environment, ``--dadapy-python``, run in a subprocess: it pins an old jax/numpy), and
scikit-dimension. Also: the kNN stage's achieved GFLOP/s next to a plain NumPy matmul of the
same shape, and the peak RSS of a subprocess computing every metric for M = 20, N = 20000,
D = 512.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=lib .venv/bin/python \\
        benchmarks/metrics.py --write benchmarks/RESULTS.md
    PYTHONPATH=lib .venv/bin/python benchmarks/metrics.py --quick      # smoke run, < 1 min
    ... benchmarks/metrics.py --only knn --write benchmarks/RESULTS.md  # kNN table only, ~15 s

(Unsetting the two OpenBLAS variables lets NumPy pick its best kernel on this CPU; it only
speeds up the NumPy-based peers, so the ratios are conservative. The table records which
kernel threadpoolctl saw.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DADAPY_PY = "/tmp/dadapy-venv/bin/python"


# ----------------------------------------------------------------------------- inputs
def make_models(n: int, m: int, d: int, seed: int = 0, latent: int = 16) -> list[np.ndarray]:
    """``m`` float32 representations ``(n, d)``: random two-layer nonlinear maps of a shared
    Gaussian latent plus a little independent noise."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, latent)).astype(np.float32)
    out = []
    for _ in range(m):
        h = np.tanh(z @ rng.normal(size=(latent, 64)).astype(np.float32) / np.sqrt(latent))
        x = h @ rng.normal(size=(64, d)).astype(np.float32) / 8.0
        out.append((x + 0.05 * rng.normal(size=(n, d))).astype(np.float32))
    return out


def _named(xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"model{i:02d}": x for i, x in enumerate(xs)}


def timed(fn, *args, **kw) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def median_pair_time(fn, xs: list[np.ndarray], pairs: int) -> float:
    """Median wall time of ``fn(xs[i], xs[i+1])`` over ``pairs`` distinct pairs."""
    ts = [timed(fn, xs[i], xs[i + 1])[0] for i in range(pairs)]
    return statistics.median(ts)


# ----------------------------------------------------------------------------- dadapy
_DADAPY_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from dadapy import Data
f = np.load(sys.argv[1]); what = sys.argv[2]; pairs = int(sys.argv[3])
xs = [f[k].astype(np.float64) for k in sorted(f.files)]
ts = []
for i in range(pairs):
    t = time.perf_counter()
    if what == "ii":
        Data(coordinates=xs[i], verbose=False).return_information_imbalace(
            xs[i + 1], k=1, subset_size=len(xs[i]))
    elif what == "twonn":
        Data(coordinates=xs[i], verbose=False).compute_id_2NN()
    elif what == "gride":
        Data(coordinates=xs[i], verbose=False).return_id_scaling_gride(range_max=64)
    ts.append(time.perf_counter() - t)
import dadapy
print(json.dumps({"times": ts}))
"""


def dadapy_times(xs: list[np.ndarray], what: str, pairs: int, python: str) -> float | None:
    """Median time of one DADApy call in its own venv (None if that venv is absent)."""
    if not Path(python).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "xs.npz"
        np.savez(path, **{f"x{i:02d}": x for i, x in enumerate(xs[: pairs + 1])})
        script = Path(tmp) / "run.py"
        script.write_text(_DADAPY_SCRIPT)
        res = subprocess.run([python, str(script), str(path), what, str(pairs)],
                             capture_output=True, text=True, check=True)
    return statistics.median(json.loads(res.stdout.strip().splitlines()[-1])["times"])


# ----------------------------------------------------------------------------- rows
def row(metric, n, ours, peer, per_pair, n_calls, measured, target=None):
    peer_all = None if per_pair is None else per_pair * n_calls
    speed = None if peer_all is None else peer_all / ours
    return {"metric": metric, "N": n, "ours_s": ours, "peer": peer, "peer_per_call_s": per_pair,
            "peer_calls": n_calls, "peer_measured": measured, "peer_all_s": peer_all,
            "speedup": speed, "target": target}


def bench_size(n: int, m: int, d: int, pairs: int, dadapy_python: str,
               cknna_only: bool = False, dense_pairs: int | None = None) -> list[dict]:
    from matteralign.metrics import align, cknna
    from matteralign.metrics.distance_correlation import distance_correlation_matrix
    from matteralign.metrics.information_imbalance import information_imbalance_matrix
    from matteralign.metrics.intrinsic_dimension import gride_scaling, mle, twonn

    xs = make_models(n, m, d)
    unordered = m * (m - 1) // 2
    rows = []
    log = lambda s: print(f"  [N={n}] {s}", file=sys.stderr, flush=True)  # noqa: E731

    log("CKNNA, ours (all ordered pairs, kNN graphs once per model)")
    t_ours, _ = timed(align, _named(xs), ("cknna",), k=25, progress=False)
    dp = dense_pairs or pairs
    log(f"CKNNA, dense reference ({dp} pair(s))")
    per = median_pair_time(lambda a, b: cknna(a, b, k=25, method="dense"), xs, dp)
    rows.append(row("CKNNA (k=25)", n, t_ours, "dense per-pair CKNNA (literal formula)", per,
                    unordered, dp, ">= 300x at N=5000"))
    if cknna_only:
        return rows

    import dcor

    log("distance correlation, ours")
    t_ours, _ = timed(distance_correlation_matrix, xs)
    log(f"distance correlation, dcor ({pairs} pairs)")
    per = median_pair_time(lambda a, b: dcor.distance_correlation(
        a.astype(np.float64), b.astype(np.float64)), xs, pairs)
    rows.append(row("distance correlation", n, t_ours, f"dcor {dcor.__version__} looped", per,
                    unordered, pairs, ">= 20x"))
    t_ours, _ = timed(distance_correlation_matrix, xs, bias_corrected=True)
    per = median_pair_time(lambda a, b: dcor.u_distance_correlation_sqr(
        a.astype(np.float64), b.astype(np.float64)), xs, pairs)
    rows.append(row("distance correlation, bias-corrected", n, t_ours,
                    f"dcor {dcor.__version__} looped", per, unordered, pairs, ">= 20x"))

    log("information imbalance, ours")
    t_ours, _ = timed(information_imbalance_matrix, xs, k=1)
    log(f"information imbalance, dadapy ({pairs} calls, both directions each)")
    per = dadapy_times(xs, "ii", pairs, dadapy_python)
    rows.append(row("information imbalance (k=1)", n, t_ours,
                    "dadapy 0.3.4 looped (one call = both directions)", per, unordered, pairs,
                    ">= 50x"))

    import skdim

    log("intrinsic dimension")
    t_ours, _ = timed(lambda: [twonn(x) for x in xs])
    per = median_pair_time(lambda a, b: skdim.id.TwoNN().fit(a), xs, pairs)
    rows.append(row("TwoNN", n, t_ours, f"scikit-dimension {skdim.__version__}", per, m, pairs))
    per = dadapy_times(xs, "twonn", pairs, dadapy_python)
    rows.append(row("TwoNN", n, t_ours, "dadapy 0.3.4", per, m, pairs))
    t_ours, _ = timed(lambda: [mle(x, k=20) for x in xs])
    per = median_pair_time(lambda a, b: skdim.id.MLE().fit(a, n_neighbors=20, comb="mle"),
                           xs, pairs)
    rows.append(row("MLE (k=20)", n, t_ours, f"scikit-dimension {skdim.__version__}", per, m,
                    pairs))
    t_ours, _ = timed(lambda: [gride_scaling(x, range_max=64) for x in xs])
    per = dadapy_times(xs, "gride", pairs, dadapy_python)
    rows.append(row("GRIDE scaling (range_max=64)", n, t_ours, "dadapy 0.3.4", per, m, pairs))
    per = median_pair_time(lambda a, b: [skdim.id.GRIDE(n1=s).fit(a) for s in (1, 2, 4, 8, 16,
                                                                                  32)], xs, pairs)
    rows.append(row("GRIDE scaling (range_max=64)", n, t_ours,
                    f"scikit-dimension {skdim.__version__} (6 fits)", per, m, pairs))
    return rows


def bench_flops(n: int, d: int, repeats: int = 9) -> dict:
    """kNN stage (one model's graph) vs NumPy float32 matmuls of the same shape.

    Two baselines: ``X @ X.T`` (what "a NumPy matmul" usually means; OpenBLAS sees that
    both operands are one buffer and runs SYRK, which computes only one triangle, i.e. half
    the ``2·N²·D`` flops) and ``X @ Y.T`` with ``Y`` a copy of ``X`` (a general GEMM doing all
    of them, as the kNN stage must: every row needs its full score row).

    The first ``knn_graph`` call (which includes JIT compilation unless an earlier row
    already compiled that shape) is timed on its own; warm calls are then interleaved with
    the matmuls (``repeats`` each) so all see the same machine load; best and median kept."""
    from matteralign.metrics import knn_graph

    x = make_models(n, 1, d)[0]
    y = x.copy()
    t_first = timed(knn_graph, x, 25)[0]
    x @ x.T, x @ y.T
    t_knn, t_mm, t_gemm = [], [], []
    for _ in range(repeats):
        t_knn.append(timed(knn_graph, x, 25)[0])
        t_mm.append(timed(np.matmul, x, x.T)[0])
        t_gemm.append(timed(np.matmul, x, y.T)[0])
    flops = 2.0 * n * n * d
    med = statistics.median
    return {"N": n, "D": d, "first_s": t_first, "knn_s": min(t_knn), "knn_med_s": med(t_knn),
            "knn_gflops": flops / min(t_knn) / 1e9, "numpy_s": min(t_mm),
            "numpy_med_s": med(t_mm), "numpy_gflops": flops / min(t_mm) / 1e9,
            "gemm_s": min(t_gemm), "gemm_med_s": med(t_gemm), "repeats": repeats}


# ----------------------------------------------------------------------------- memory
def memory_child(n: int, m: int, d: int) -> None:
    """Every metric for all pairs, plus every model's intrinsic dimension (run as a child)."""
    from matteralign.metrics import align
    from matteralign.metrics.intrinsic_dimension import intrinsic_dimension

    xs = make_models(n, m, d)
    t = time.perf_counter()
    align(_named(xs), ("cknna", "mutual_knn", "cka", "dcor", "info_imbalance"), k=25,
          progress=False)
    for x in xs:
        intrinsic_dimension(x, "twonn")
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # this process only
    print(json.dumps({"seconds": time.perf_counter() - t, "peak_rss_gib": peak_gib}))


def bench_memory(n: int, m: int, d: int) -> dict:
    res = subprocess.run([sys.executable, __file__, "--_memory-child", str(n), str(m), str(d)],
                         capture_output=True, text=True, env={**os.environ,
                                                              "PYTHONPATH": str(ROOT / "lib")})
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    # the child's own peak: RUSAGE_CHILDREN would report the largest child ever waited for,
    # which may be a DADApy peer run rather than this one
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {"N": n, "M": m, "D": d, "peak_rss_gib": out["peak_rss_gib"],
            "seconds": out["seconds"]}


# ----------------------------------------------------------------------------- report
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                         f"({i.get('architecture')}, {i.get('num_threads')} threads)"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        blas = "threadpoolctl not installed"
    import jax

    return {"cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "jax": jax.__version__, "numpy_blas": blas,
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE",
                                                              "OPENBLAS_L2_SIZE")},
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def fmt(v, spec=".1f"):
    return "—" if v is None else format(v, spec)


def render(rows, flops, mem, info, args) -> str:
    lines = [
        "## Metrics (`benchmarks/metrics.py`)", "",
        f"Measured {info['date']} on {info['cpu']} (`nproc` = {info['nproc']}), Python "
        f"{info['python']}, NumPy {info['numpy']} ({info['numpy_blas']}), JAX {info['jax']}; "
        f"OpenBLAS env {info['openblas_env']}. Inputs: M = {args.models} models, D = {args.dim}, "
        "float32, nonlinear maps of a shared 16-d latent. Command: "
        f"`{' '.join(['benchmarks/metrics.py'] + sys.argv[1:])}`.", "",
        "\"ours\" = all pairs of the M models in one call. A peer's all-pairs time = its median "
        "time per call over the measured calls × the calls needed (M(M−1)/2 unordered pairs "
        "for pair metrics, M models for intrinsic dimension) — **extrapolated** from the "
        "measured calls. For CKNNA the dense reference is counted once per unordered pair "
        "(filling both directions of the directed tensor would need twice that).", "",
        "| metric | N | ours, all pairs (s) | peer | peer per call (s) | calls measured "
        "| peer all pairs (s, extrapolated) | speed-up | target |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['metric']} | {r['N']} | {fmt(r['ours_s'])} | {r['peer']} | "
                     f"{fmt(r['peer_per_call_s'], '.3g')} | {r['peer_measured']} of "
                     f"{r['peer_calls']} | {fmt(r['peer_all_s'])} | "
                     f"{fmt(r['speedup'], '.0f')}{'' if r['speedup'] is None else '×'} | "
                     f"{r['target'] or ''} |")
    lines += ["", *knn_table(flops)]
    if mem:
        lines += ["", f"Peak memory, every metric (`align` with cknna, mutual_knn, cka, dcor, "
                      f"info_imbalance, plus TwoNN per model) in a subprocess: M = {mem['M']}, "
                      f"N = {mem['N']}, D = {mem['D']}: **peak RSS {mem['peak_rss_gib']:.2f} GiB** "
                      f"(target < 4 GiB), {mem['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


_KNN_HEAD = "kNN stage vs NumPy matmul (same shape, float32, same run"


def knn_table(flops: list[dict], note: str = "") -> list[str]:
    """The "kNN stage vs NumPy matmul" table (lines, heading first)."""
    reps = flops[0]["repeats"] if flops else 0
    lines = [f"{_KNN_HEAD}; warm = best / median of {reps} calls interleaved with the matmuls, "
             "first = the first call in the process, JIT compilation included; X·Xᵀ is "
             "OpenBLAS SYRK, half the flops; X·Yᵀ is a general GEMM; GFLOP/s = 2·N²·D / best "
             f"time; ratio = time / NumPy time){note}:", "",
             "| N | D | kNN first call (s) | kNN warm best / median (s) | kNN GFLOP/s "
             "| NumPy X·Xᵀ best / median (s) | NumPy X·Xᵀ GFLOP/s | NumPy X·Yᵀ best / median (s) "
             "| ratio vs X·Xᵀ, best / median | ratio vs X·Yᵀ, best / median "
             "| first call vs X·Xᵀ best |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in flops:
        lines.append(
            f"| {f['N']} | {f['D']} | {f['first_s']:.3f} | {f['knn_s']:.3f} / "
            f"{f['knn_med_s']:.3f} | {f['knn_gflops']:.1f} | {f['numpy_s']:.4f} / "
            f"{f['numpy_med_s']:.4f} | {f['numpy_gflops']:.1f} | {f['gemm_s']:.4f} / "
            f"{f['gemm_med_s']:.4f} | {f['knn_s'] / f['numpy_s']:.2f}× / "
            f"{f['knn_med_s'] / f['numpy_med_s']:.2f}× | {f['knn_s'] / f['gemm_s']:.2f}× / "
            f"{f['knn_med_s'] / f['gemm_med_s']:.2f}× | {f['first_s'] / f['numpy_s']:.1f}× |")
    return lines


def write_knn_table(path: Path, lines: list[str]) -> None:
    """Replace only the kNN-vs-matmul table (heading line through the table's last row) in
    ``path``, keeping everything else (``--only knn``)."""
    text = path.read_text().split("\n")
    start = next((i for i, s in enumerate(text) if s.startswith(_KNN_HEAD)), None)
    if start is None:
        raise SystemExit(f"no kNN table in {path}; run the full benchmark with --write first")
    end = start + 1
    while end < len(text) and not text[end].startswith("|"):  # blank line before the table
        end += 1
    while end < len(text) and text[end].startswith("|"):
        end += 1
    text[start:end] = lines
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(text))
    tmp.replace(path)


def write_section(path: Path, section: str) -> None:
    """Replace the metrics section of ``path`` (between markers), keeping any other content."""
    begin, end = "<!-- metrics:begin -->", "<!-- metrics:end -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run (< 1 min)")
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    p.add_argument("--cknna-sizes", type=int, nargs="*", default=[10000],
                   help="extra sizes for the CKNNA row only (one dense pair measured)")
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--pairs", type=int, default=2, help="peer calls measured per row")
    p.add_argument("--memory", type=int, nargs=3, default=[20000, 20, 512],
                   metavar=("N", "M", "D"))
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--dadapy-python", default=DADAPY_PY)
    p.add_argument("--write", type=Path, help="write the table into this RESULTS.md")
    p.add_argument("--only", choices=["knn"], help="run one part only: 'knn' = the kNN stage "
                   "vs NumPy matmul table (with --write, only that table is replaced)")
    p.add_argument("--_memory-child", type=int, nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._memory_child:
        memory_child(*args._memory_child)
        return 0
    if args.quick:
        args.sizes, args.cknna_sizes, args.models, args.dim, args.pairs = [400], [], 4, 32, 1
        args.memory = [600, 4, 32]
    info = machine()
    if args.only == "knn":
        flops = [bench_flops(n, args.dim) for n in sorted(set(args.sizes))]
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        cmd = " ".join(["benchmarks/metrics.py"] + sys.argv[1:])
        note = (f". Measured {info['date']} on {info['cpu']} (`nproc` = {info['nproc']}), "
                f"NumPy {info['numpy']} ({info['numpy_blas']}), JAX {info['jax']}, load average "
                f"{load} (1/5/15 min) at the end, command `{cmd}`")
        lines = knn_table(flops, note)
        print("\n".join(lines))
        if args.write:
            write_knn_table(args.write, lines)
        return 0
    rows = []
    for n in args.sizes:
        rows += bench_size(n, args.models, args.dim, args.pairs, args.dadapy_python)
    for n in args.cknna_sizes:
        rows += bench_size(n, args.models, args.dim, args.pairs, args.dadapy_python,
                           cknna_only=True, dense_pairs=1)
    flops = [bench_flops(n, args.dim) for n in sorted(set(args.sizes))]
    print(render(rows, flops, None, info, args), file=sys.stderr, flush=True)  # before the
    mem = None if args.no_memory else bench_memory(*args.memory)  # long memory run
    text = render(rows, flops, mem, info, args)
    print(text)
    if args.write:
        write_section(args.write, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
