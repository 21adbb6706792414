"""How many samples does a conclusion need? Stability of CKNNA as N grows.

A conclusion drawn from an alignment tensor is *stable at N* when, against the largest N
measured, both hold:

* **rank order**: Kendall's τ between the model pairs' mean CKNNA at N and at the largest
  N is at least ``tau_min`` (0.9 by default) — the lower end of its bootstrap interval
  over pairs, so the criterion is met with 95 % confidence, not by luck;
* **level**: the mean CKNNA over pairs is within ``±tolerance`` (0.02) of its value at the
  largest N — the whole bootstrap interval (over repeated subsets) of the difference lies
  inside the band.

:func:`sweep` measures CKNNA of every pair on ``n_repeats`` random subsets per size, at a
fixed ``k`` or at a fixed ``k/N`` (``k_fraction``: neighbourhoods that stay the same share
of the data, the regime where CKNNA is a local statistic at every N);
:func:`stability_table` applies the two criteria per size; :func:`required_n` is the
smallest size from which every larger size is stable.

Kendall's τ-b: Kendall, *Biometrika* 30 (1938) 81; scipy.stats.kendalltau. Percentile
bootstrap: Efron & Tibshirani (1993).

Examples
--------
>>> import pandas as pd
>>> rows = [(n, r, p, v) for n, shift in [(50, 0.1), (100, 0.01), (200, 0.0)]
...         for r in range(3) for p, v in [("a", 0.9), ("b", 0.5), ("c", 0.2), ("d", 0.4)]
...         for v in [v + shift + 0.001 * r]]
>>> df = pd.DataFrame(rows, columns=["n", "repeat", "pair", "value"])
>>> table = stability_table(df, n_boot=200)
>>> table["stable"].tolist(), required_n(table)
([False, True, True], 100)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from matteralign.errors import ValidationError

__all__ = ["sweep", "stability_table", "required_n"]


def sweep(collection: xr.Dataset, sizes: Sequence[int], *, k: int | None = 25,
          k_fraction: float | None = None, n_repeats: int = 5, seed: int = 0,
          progress: bool = False) -> pd.DataFrame:
    """CKNNA of every model pair on ``n_repeats`` random subsets of each size.

    Args:
        collection: embeddings, one variable per model (same samples).
        sizes: subset sizes; sizes above the collection's N are skipped, N itself is one
            subset (the full set) repeated once.
        k: neighbours at every size (ignored when ``k_fraction`` is given).
        k_fraction: ``k = max(2, round(k_fraction·n))`` at size ``n``.
        n_repeats, seed: subsets per size and their seed.
        progress: a tqdm bar over sizes.

    Returns:
        Columns ``n, k, repeat, pair, model_a, model_b, value`` (``pair`` is ``"a × b"``).
        Cost ``O(Σ_n n_repeats · M·(n²·D + M·n·k²))``.
    """
    from matteralign import metrics
    from matteralign.analysis.robustness import pair_values

    if k_fraction is None and (k is None or k < 1):
        raise ValidationError("give k >= 1 or k_fraction")
    if k_fraction is not None and not 0.0 < k_fraction < 1.0:
        raise ValidationError(f"k_fraction must be in (0, 1); got {k_fraction}")
    n_total = collection.sizes["sample"]
    rng = np.random.default_rng(seed)
    frames = []
    todo = sorted({int(n) for n in sizes if int(n) <= n_total})
    if not todo:
        raise ValidationError(f"no size in {list(sizes)} fits the {n_total} samples")
    iterator = todo
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(todo, desc="sample-size sweep")
    for n in iterator:
        kk = max(2, int(round(k_fraction * n))) if k_fraction is not None else int(k)
        if kk >= n:
            continue
        for r in range(1 if n == n_total else n_repeats):
            idx = np.sort(rng.choice(n_total, size=n, replace=False))
            t = metrics.align(collection.isel(sample=idx), metrics=("cknna",), k=kk,
                              progress=False)
            df = pair_values(t, ["cknna"])
            df["pair"] = [f"{a} × {b}" for a, b in zip(df["model_a"], df["model_b"])]
            df.insert(0, "repeat", r)
            df.insert(0, "k", kk)
            df.insert(0, "n", n)
            frames.append(df[["n", "k", "repeat", "pair", "model_a", "model_b", "value"]])
    if not frames:
        raise ValidationError(f"every size in {todo} has k >= n")
    return pd.concat(frames, ignore_index=True)


def stability_table(by_n: pd.DataFrame, *, tau_min: float = 0.9, tolerance: float = 0.02,
                    level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per size: Kendall's τ of the pairs' mean CKNNA against the largest size (with a
    bootstrap interval over pairs), the mean CKNNA and its difference from the largest size
    (with a bootstrap interval over repeats), and whether both criteria hold.

    Args:
        by_n: a :func:`sweep` table (columns ``n, repeat, pair, value``).
        tau_min, tolerance: the criteria (see the module docstring).
        level, n_boot, seed: bootstrap settings.

    Returns:
        Indexed by ``n``: ``k, n_pairs, tau, tau_low, tau_high, mean, delta, delta_low,
        delta_high, stable``.
    """
    from scipy.stats import kendalltau

    if not {"n", "repeat", "pair", "value"} <= set(by_n.columns):
        raise ValidationError("stability_table needs the columns n, repeat, pair, value of sweep()")
    means = by_n.groupby(["n", "pair"])["value"].mean().unstack("pair").sort_index()
    if means.shape[1] < 3:
        raise ValidationError(f"rank stability needs at least 3 model pairs; got {means.shape[1]}")
    largest = means.index.max()
    final = means.loc[largest].to_numpy(float)
    final_mean = float(by_n[by_n["n"] == largest]["value"].mean())
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    n_pairs = means.shape[1]
    for n, row in means.iterrows():
        cur = row.to_numpy(float)
        tau = float(kendalltau(cur, final).statistic)
        boots = []
        for _ in range(n_boot):
            idx = rng.integers(0, n_pairs, size=n_pairs)
            t = kendalltau(cur[idx], final[idx]).statistic
            if np.isfinite(t):
                boots.append(t)
        t_lo, t_hi = np.quantile(boots, q) if boots else (np.nan, np.nan)
        per_repeat = by_n[by_n["n"] == n].groupby("repeat")["value"].mean().to_numpy(float)
        delta = float(per_repeat.mean() - final_mean)
        if len(per_repeat) > 1:
            reps = per_repeat[rng.integers(0, len(per_repeat), size=(n_boot, len(per_repeat)))]
            d_lo, d_hi = np.quantile(reps.mean(axis=1) - final_mean, q)
        else:
            d_lo = d_hi = delta
        ks = by_n[by_n["n"] == n]["k"].unique() if "k" in by_n else [np.nan]
        rows.append({"n": int(n), "k": int(ks[0]) if len(ks) == 1 and np.isfinite(ks[0]) else -1,
                     "n_pairs": n_pairs, "tau": tau, "tau_low": float(t_lo),
                     "tau_high": float(t_hi), "mean": float(per_repeat.mean()), "delta": delta,
                     "delta_low": float(d_lo), "delta_high": float(d_hi),
                     "stable": bool(t_lo >= tau_min and -tolerance <= d_lo and
                                    d_hi <= tolerance)})
    out = pd.DataFrame(rows).set_index("n")
    out.attrs.update({"tau_min": tau_min, "tolerance": tolerance, "level": level,
                      "largest_n": int(largest)})
    return out


def required_n(table: pd.DataFrame) -> int | None:
    """The smallest size from which every larger size in ``table`` is stable (the largest
    size is stable by definition only when a smaller one is too); None when no smaller size
    qualifies — the sweep must go further."""
    stable = table["stable"].to_numpy(bool)
    sizes = table.index.to_numpy(int)
    order = np.argsort(sizes)
    stable, sizes = stable[order], sizes[order]
    if len(sizes) < 2:
        return None
    i = len(sizes) - 1  # the largest size is trivially stable against itself
    while i > 0 and stable[i - 1]:
        i -= 1
    return int(sizes[i]) if i < len(sizes) - 1 else None
