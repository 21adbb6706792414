"""The model ladders in the analysis (notebook 07): which rungs there are, which is best per
modality, how pairs of rungs are arranged, and the statistics over them.

* :func:`rung_table` — the registered rungs of one ladder (``ladder-<ladder>-<rung>``, see
  :mod:`matteralign.models.ladder`) with their metadata and held-out errors, one row each.
* :func:`best_per_modality`, :func:`order_by_error` — the reference rung of each modality
  (lowest held-out error) and rungs sorted by error.
* :func:`pair_matrix` — one metric between the rungs of two groups (rows × columns), read
  from an alignment tensor and symmetrised.
* :func:`pair_rank_correlation` — Spearman's ρ between the alignment of each cross pair and
  the pair's combined error, with a permutation p over *models* (not pairs).
* :func:`seed_pairs` — the pairs of rungs that differ only in their seed.
* :func:`pair_replicates` — a metric for many pairs on shared random subsets of the samples
  (each model's kNN graph built once per subset), with delete-d subsampling intervals.
* :func:`pick_error` — the error column to rank models by.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"modality": ["3d", "3d", "string"], "err": [0.02, 0.01, 0.03]},
...                  index=["a", "b", "c"])
>>> best_per_modality(t, "err"), order_by_error(t, "err")
({'3d': 'b', 'string': 'c'}, ['b', 'a', 'c'])
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matteralign.errors import ValidationError

__all__ = ["TWIN_SUFFIX", "MODALITY_ORDER", "COMBINE", "rung_table", "pick_error", "error_unit",
           "registered", "best_per_modality", "order_by_error", "by_modality", "short_label",
           "mean_off_diagonal", "pair_matrix", "PairRank", "pair_rank_correlation", "seed_pairs",
           "twin_pairs", "PairReplicates", "pair_replicates", "pair_kinds", "rank_sentence",
           "pair_rank_sentence", "paired_sentence"]

TWIN_SUFFIX = "-random"
_BASE_COLUMNS = ["ladder", "rung", "modality", "architecture", "training_data", "n_params",
                 "twin"]

#: How two models' errors combine into a pair's error (:func:`pair_rank_correlation`).
COMBINE = {"max": np.maximum, "mean": lambda a, b: 0.5 * (a + b),
           "geomean": lambda a, b: np.sqrt(a * b)}


def rung_table(ladder: str = "qm9", models: Sequence[str] | str = "all", *,
               allow_empty: bool = False) -> pd.DataFrame:
    """The trained rungs of ``ladder`` in the model registry, one row per model.

    Args:
        ladder: the ladder's name (the ``<ladder>`` of ``ladder-<ladder>-<rung>``).
        models: ``"all"`` (every registered rung of the ladder) or the registry names of some
            of them (untrained twins are not rungs; they are named in the ``twin`` column).
        allow_empty: return an empty table when no rung is registered (else an error that
            says how to train them).

    Returns:
        A ``DataFrame`` indexed by model name (sorted) with ``ladder, rung, modality,
        architecture, training_data, n_params, twin`` (the untrained twin's name, or ``""``
        where none is registered) and one column per scalar entry of the model's
        ``performance`` (``train_size, width, depth, seed``, the held-out errors
        ``test_mae_<target>`` and their units ``unit_<target>`` …). Empty (with the base columns) when no rung is registered
        and ``allow_empty``.

    Raises:
        UnknownNameError: a name in ``models`` is not registered.
        ValidationError: a name that is not a trained rung of ``ladder``, or no rung at all
            (unless ``allow_empty``).
    """
    from matteralign import models as registry

    prefix = f"ladder-{ladder}-"
    known = registry.names()
    if isinstance(models, str):
        if models != "all":
            raise ValidationError(f"models must be 'all' or a list of rung names; got {models!r}")
        names = [n for n in known if n.startswith(prefix) and not registry.info(n).random_weights]
    else:
        names = [str(m) for m in models]
        for name in names:
            info = registry.info(name)  # UnknownNameError naming close ones
            if not name.startswith(prefix) or info.random_weights:
                raise ValidationError(f"{name!r} is not a trained rung of the {ladder!r} ladder "
                                      f"(its rungs are named {prefix}<rung>; twins are added "
                                      "automatically)")
    rows = {}
    for name in sorted(dict.fromkeys(names)):
        info = registry.info(name)
        twin = name + TWIN_SUFFIX
        row: dict[str, Any] = {"ladder": ladder, "rung": name[len(prefix):],
                               "modality": info.modality, "architecture": info.architecture,
                               "training_data": info.training_data, "n_params": info.n_params,
                               "twin": twin if twin in known else ""}
        row.update({k: v for k, v in info.performance.items()
                    if (isinstance(v, int | float) and not isinstance(v, bool))
                    or (k.startswith("unit_") and isinstance(v, str))})
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    if table.empty:
        if not allow_empty:
            from matteralign.models.ladder import models_root

            raise ValidationError(f"no trained rung of the {ladder!r} ladder is registered (none "
                                  f"under {models_root() / ladder}); train them with `python -m "
                                  f"matteralign.train {ladder}/<rung>` (see --list)")
        table = pd.DataFrame(columns=_BASE_COLUMNS)
    table.index.name = "model"
    return table


def pick_error(table: pd.DataFrame, wanted: str = "auto") -> str:
    """The column of held-out errors to rank by: ``wanted`` itself (``test_mae_`` may be
    left off), or for ``"auto"`` the first ``test_mae_*`` column about energy, else the
    first ``test_mae_*`` column.

    >>> pick_error(pd.DataFrame(columns=["seed", "test_mae_gap", "test_mae_energy_per_atom"]))
    'test_mae_energy_per_atom'
    >>> pick_error(pd.DataFrame(columns=["test_mae_gap"]), "gap")
    'test_mae_gap'
    """
    errors = [c for c in table.columns if str(c).startswith("test_mae_")]
    if wanted != "auto":
        for c in (wanted, f"test_mae_{wanted}"):
            if c in table.columns:
                return c
        raise ValidationError(f"no error column {wanted!r}; the table has {errors or 'none'}")
    energy = [c for c in errors if "energy" in str(c)]
    if not (energy or errors):
        raise ValidationError(f"no held-out error column (test_mae_*) among {list(table.columns)}")
    return (energy or errors)[0]


def error_unit(table: pd.DataFrame, error: str) -> str:
    """The unit of an error column (``unit_<target>`` of ``test_mae_<target>``), or ``""``.

    >>> error_unit(pd.DataFrame({"unit_gap": ["eV"]}), "test_mae_gap")
    'eV'
    """
    column = "unit_" + str(error).removeprefix("test_mae_")
    if column not in table.columns:
        return ""
    units = sorted({str(u) for u in table[column].dropna()})
    return " / ".join(units)


def registered(names: Sequence[str]) -> list[str]:
    """The names (in order, without blanks or repeats) that the model registry knows."""
    from matteralign import models as registry

    known = set(registry.names())
    return [n for n in dict.fromkeys(str(x) for x in names) if n and n in known]


def best_per_modality(table: pd.DataFrame, error: str) -> dict[str, str]:
    """``{modality: model}``: the model with the lowest ``error`` in each modality (ties go
    to the first name in sorted order)."""
    out = {}
    for modality, group in table.groupby("modality", sort=True):
        g = group[np.isfinite(group[error].astype(float))]
        if len(g):
            out[str(modality)] = order_by_error(g, error)[0]
    return out


def order_by_error(table: pd.DataFrame, error: str) -> list[str]:
    """Model names by increasing ``error`` (ties by name; NaN last)."""
    df = pd.DataFrame({"e": table[error].astype(float).to_numpy(),
                       "name": [str(i) for i in table.index]})
    return df.sort_values(["e", "name"], na_position="last")["name"].tolist()


MODALITY_ORDER = ("string", "graph", "3d")


def by_modality(table: pd.DataFrame, error: str) -> list[str]:
    """Model names grouped by modality (string, graph, 3D, then any other), each group by
    increasing ``error``.

    >>> t = pd.DataFrame({"modality": ["3d", "string", "3d"], "e": [2.0, 5.0, 1.0]},
    ...                  index=["a", "b", "c"])
    >>> by_modality(t, "e")
    ['b', 'c', 'a']
    """
    present = [str(m) for m in dict.fromkeys(table["modality"])]
    mods = [m for m in MODALITY_ORDER if m in present] + sorted(set(present) - set(MODALITY_ORDER))
    return [name for m in mods for name in order_by_error(table[table["modality"] == m], error)]


def mean_off_diagonal(tensor: Any, metric: str | None = None) -> float:
    """The mean of an alignment (or distance) tensor over its pairs ``a ≠ b`` (one metric:
    ``metric``, or the only one)."""
    da = tensor.sel(metric=metric if metric is not None else tensor["metric"].values[0]) \
        if "metric" in tensor.dims else tensor
    m = np.asarray(da.values, dtype=float)
    return float(np.nanmean(m[~np.eye(len(m), dtype=bool)]))


def short_label(table: pd.DataFrame) -> pd.Series:
    """A compact label per rung: training size, width and seed (``32k·w64·s0``).

    >>> short_label(pd.DataFrame({"train_size": [32000, 500], "width": [64, 32],
    ...                           "seed": [0, 1]}, index=["a", "b"])).tolist()
    ['32k·w64·s0', '500·w32·s1']
    """
    def size(n: float) -> str:
        n = int(n)
        return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)

    return pd.Series([f"{size(r.train_size)}·w{int(r.width)}·s{int(r.seed)}"
                      for r in table.itertuples()], index=table.index, name="label")


def pair_matrix(tensor: Any, metric: str, rows: Sequence[str], cols: Sequence[str]
                ) -> pd.DataFrame:
    """``metric`` between each model of ``rows`` and each of ``cols``, symmetrised:
    ``S[a, b] = (T[a, b] + T[b, a]) / 2`` of the alignment tensor ``T``."""
    da = tensor.sel(metric=metric) if "metric" in tensor.dims else tensor
    names = [str(v) for v in da["model_a"].values]
    missing = [m for m in [*rows, *cols] if m not in names]
    if missing:
        from matteralign.errors import unknown_name

        raise unknown_name("model", missing[0], names)
    m = np.asarray(da.values, dtype=float)
    ia, ib = [names.index(r) for r in rows], [names.index(c) for c in cols]
    values = 0.5 * (m[np.ix_(ia, ib)] + m[np.ix_(ib, ia)].T)
    return pd.DataFrame(values, index=pd.Index(list(rows), name="model_a"),
                        columns=pd.Index(list(cols), name="model_b"))


@dataclass(frozen=True)
class PairRank:
    """Spearman's ρ between cross-pair alignment and the pairs' combined error."""

    rho: float
    p_value: float
    p_method: str
    combine: str
    n_pairs: int
    n_rows: int
    n_cols: int
    pairs: pd.DataFrame  # model_a, model_b, value, error_a, error_b, combined


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    rx, ry = rankdata(x) - (len(x) + 1) / 2, rankdata(y) - (len(y) + 1) / 2
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry / den) if den > 0 else float("nan")


def pair_rank_correlation(matrix: pd.DataFrame, errors: Mapping[str, float] | pd.Series, *,
                          combine: str = "max", n_perm: int = 9999, seed: int = 0) -> PairRank:
    """Does the alignment of a cross pair rise as both its models improve?

    For every cell ``(a, b)`` of ``matrix`` (rows and columns: models of two groups, e.g.
    string and 3D rungs) with errors ``e_a``, ``e_b``, the pair's error is
    ``c_ab = combine(e_a, e_b)`` (``max``: the weaker model's error, by default; ``mean``;
    ``geomean``), and ``ρ = Spearman(c_ab, S_ab)`` over the cells.

    Null: the pairs share models, so the units that are exchangeable are the models, not the
    pairs. Under H0 (alignment does not depend on error) the errors can be permuted among the
    row models and, independently, among the column models; each permutation recomputes
    every ``c_ab`` and ρ*. Two-sided ``p = (1 + #{|ρ*| ≥ |ρ|}) / (1 + n_perm)`` (Monte
    Carlo), or the exact fraction over all ``R!·C!`` relabellings when that is at most
    ``n_perm``. Reference: Good, *Permutation Tests* (2000); the same logic as Mantel's
    test (Mantel, Cancer Res. 27 (1967) 209), whose units are the objects, not the pairs.

    Args:
        matrix: :func:`pair_matrix` output (NaN cells are left out).
        errors: ``{model: error}`` for every row and column model.
        combine: a key of :data:`COMBINE`.
        n_perm: permutations of the Monte Carlo null.
        seed: its seed.

    Returns:
        :class:`PairRank`; ``pairs`` lists every cell used.

    Raises:
        ValidationError: fewer than 2 models on a side, fewer than 4 cells, a model without
            a finite error, an unknown ``combine`` or a constant value or error.
    """
    if combine not in COMBINE:
        raise ValidationError(f"combine must be one of {sorted(COMBINE)}; got {combine!r}")
    errs = pd.Series(errors, dtype=float)
    rows, cols = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    if len(rows) < 2 or len(cols) < 2:
        raise ValidationError(f"a pair rank correlation needs at least 2 models on each side; "
                              f"got {len(rows)} × {len(cols)}")
    bad = [m for m in [*rows, *cols] if m not in errs.index or not math.isfinite(errs[m])]
    if bad:
        raise ValidationError(f"no finite error for {bad[0]!r}")
    values = matrix.to_numpy(float)
    ok = np.isfinite(values)
    if ok.sum() < 4:
        raise ValidationError(f"a pair rank correlation needs at least 4 finite cells; got "
                              f"{int(ok.sum())}")
    f = COMBINE[combine]
    er, ec = errs[rows].to_numpy(float), errs[cols].to_numpy(float)

    def rho_of(er_: np.ndarray, ec_: np.ndarray) -> float:
        return _spearman(f(er_[:, None], ec_[None, :])[ok], values[ok])

    rho = rho_of(er, ec)
    if not math.isfinite(rho):
        raise ValidationError("Spearman's ρ is undefined: every pair has the same error or the "
                              "same alignment")
    tol = 1e-12
    total = math.factorial(len(rows)) * math.factorial(len(cols))
    if total <= n_perm:
        hits = sum(abs(rho_of(er[list(pr)], ec[list(pc)])) >= abs(rho) - tol
                   for pr in itertools.permutations(range(len(rows)))
                   for pc in itertools.permutations(range(len(cols))))
        p, how = hits / total, f"exact over {total} relabellings of the models"
    else:
        rng = np.random.default_rng(seed)
        hits = sum(abs(rho_of(rng.permutation(er), rng.permutation(ec))) >= abs(rho) - tol
                   for _ in range(n_perm))
        p = (1 + hits) / (1 + n_perm)
        how = (f"Monte Carlo, {n_perm} relabellings of the {len(rows)} + {len(cols)} models "
               "within each side")
    ia, ib = np.nonzero(ok)
    pairs = pd.DataFrame({"model_a": [rows[i] for i in ia], "model_b": [cols[j] for j in ib],
                          "value": values[ok], "error_a": er[ia], "error_b": ec[ib],
                          "combined": f(er[ia], ec[ib])})
    return PairRank(rho, float(p), how, combine, int(ok.sum()), len(rows), len(cols), pairs)


def seed_pairs(table: pd.DataFrame, sizes: Sequence[int] | None = None) -> pd.DataFrame:
    """The pairs of rungs that differ only in their seed (same architecture, training size,
    width and depth), optionally at the training ``sizes`` only.

    Returns:
        Columns ``unit`` (``"<architecture> w<width> s<a>×s<b>"``, the same for one seed
        pair at every size), ``architecture, modality, train_size, width, seed_a, seed_b,
        model_a, model_b``, sorted.
    """
    cols = ["unit", "architecture", "modality", "train_size", "width", "seed_a", "seed_b",
            "model_a", "model_b"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    keys = ["architecture", "modality", "train_size", "width"]
    keys += ["depth"] if "depth" in table.columns else []
    df = table if sizes is None else table[table["train_size"].isin(list(sizes))]
    rows = []
    for key, group in df.groupby(keys, sort=True):
        g = group.sort_values("seed")
        for (a, ra), (b, rb) in itertools.combinations(g.iterrows(), 2):
            arch, modality, size, width = key[:4]
            rows.append({"unit": f"{arch} w{int(width)} s{int(ra.seed)}×s{int(rb.seed)}",
                         "architecture": arch, "modality": modality, "train_size": int(size),
                         "width": int(width), "seed_a": int(ra.seed), "seed_b": int(rb.seed),
                         "model_a": a, "model_b": b})
    return pd.DataFrame(rows, columns=cols)


def twin_pairs(pairs: pd.DataFrame, available: Any) -> pd.DataFrame:
    """The same rows of ``pairs`` (columns ``model_a``, ``model_b``) with both models replaced
    by their untrained twins (``<name>-random``), for the rows whose two twins are in
    ``available`` (model names, or a collection keyed by them); rows without are dropped.

    >>> twin_pairs(pd.DataFrame({"model_a": ["a", "c"], "model_b": ["b", "d"]}),
    ...            ["a-random", "b-random", "c-random"]).values.tolist()
    [['a-random', 'b-random']]
    """
    names = {str(x) for x in (available.data_vars if hasattr(available, "data_vars")
                              else available)}
    out = pairs.assign(model_a=[f"{a}{TWIN_SUFFIX}" for a in pairs["model_a"]],
                       model_b=[f"{b}{TWIN_SUFFIX}" for b in pairs["model_b"]])
    keep = out["model_a"].isin(names) & out["model_b"].isin(names)
    return out[keep].reset_index(drop=True)


@dataclass(frozen=True)
class PairReplicates:
    """A metric for many pairs on all samples and on shared random subsets of them."""

    table: pd.DataFrame  # model_a, model_b, value, low, high
    replicates: np.ndarray  # (n_boot, n_pairs), columns in the order of table's rows
    metric: str
    k: int
    n_samples: int
    subset_size: int
    n_boot: int
    level: float

    def interval(self, weights: Sequence[float]) -> tuple[float, float, float]:
        """``(value, low, high)`` of the weighted sum ``Σ w_p s_p`` over the pairs (e.g. a
        difference of two group means), with the same delete-d interval as each pair."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(self.table),):
            raise ValidationError(f"need one weight per pair ({len(self.table)}); got {w.shape}")
        value = float(self.table["value"].to_numpy(float) @ w)
        return (value, *_delete_d(value, self.replicates @ w, self.n_samples, self.subset_size,
                                  self.level))


def _delete_d(value: float, reps: np.ndarray, n: int, m: int, level: float
              ) -> tuple[float, float]:
    dev = (reps - reps.mean()) * math.sqrt(m / (n - m))
    q_lo, q_hi = np.quantile(dev, [(1 - level) / 2, (1 + level) / 2])
    return float(value - q_hi), float(value - q_lo)


def pair_replicates(collection: Any, pairs: Sequence[tuple[str, str]], *, metric: str = "cknna",
                    k: int = 25, n_boot: int = 100, fraction: float = 0.5, level: float = 0.95,
                    seed: int = 0) -> PairReplicates:
    """``metric`` for each pair on all ``N`` samples and on ``n_boot`` shared random subsets
    of ``m = fraction·N`` samples (drawn without replacement; every pair sees the same
    subsets, so sums and differences over pairs get intervals too, :meth:`PairReplicates.
    interval`). kNN metrics build each model's graph once per subset.

    Interval (delete-d subsampling, as :func:`matteralign.metrics.bootstrap` and
    :func:`~matteralign.analysis.evidence.block_contrast`): with ``s_r`` the value on subset
    ``r`` and ``d_r = (s_r − mean s)·sqrt(m / (N − m))``, the ``level`` interval is
    ``[s − q_hi(d), s − q_lo(d)]``. References: Shao & Wu, Ann. Stat. 17 (1989) 1176;
    Politis & Romano, Ann. Stat. 22 (1994) 2031.

    Args:
        collection: embeddings, an ``xarray.Dataset`` with one variable per model or a
            mapping ``{model: (N, D) array}``.
        pairs: the ``(a, b)`` model pairs.
        metric, k: a pairwise metric of :mod:`matteralign.metrics` and its ``k``.
        n_boot, fraction, level, seed: subsampling settings.

    Returns:
        :class:`PairReplicates`. Cost: ``(n_boot + 1)`` kNN graphs per model used plus
        ``(n_boot + 1)·len(pairs)`` pair evaluations.
    """
    from matteralign.analysis.evidence import _as_arrays, _pair_scorer, _subset_size
    from matteralign.errors import unknown_name
    from matteralign.metrics.cknna import CKNNAReliabilityWarning

    arrays = _as_arrays(collection)
    pairs = [(str(a), str(b)) for a, b in pairs]
    if not pairs:
        raise ValidationError("pair_replicates needs at least one pair")
    used = list(dict.fromkeys(x for p in pairs for x in p))
    for name in used:
        if name not in arrays:
            raise unknown_name("model", name, sorted(arrays))
    if not 0.0 < fraction < 1.0 or not 0.0 < level < 1.0 or n_boot < 2:
        raise ValidationError(f"need 0 < fraction < 1, 0 < level < 1 and n_boot ≥ 2; got "
                              f"{fraction}, {level}, {n_boot}")
    n = arrays[used[0]].shape[0]
    m = _subset_size(n, fraction, k, metric)
    score = _pair_scorer(metric, k)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CKNNAReliabilityWarning)
        full = score({u: arrays[u] for u in used}, pairs)
        reps = np.empty((n_boot, len(pairs)))
        for r in range(n_boot):
            idx = np.sort(rng.choice(n, size=m, replace=False))
            reps[r] = score({u: arrays[u][idx] for u in used}, pairs)
    bounds = [_delete_d(float(full[j]), reps[:, j], n, m, level) for j in range(len(pairs))]
    table = pd.DataFrame({"model_a": [a for a, _ in pairs], "model_b": [b for _, b in pairs],
                          "value": full, "low": [lo for lo, _ in bounds],
                          "high": [hi for _, hi in bounds]})
    return PairReplicates(table, reps, metric, int(k), int(n), int(m), int(n_boot), float(level))


def pair_kinds(pairs: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """The modality pair of each row of ``pairs`` (columns ``model_a``, ``model_b``), in a
    fixed order: ``"string–3d"``, ``"graph–3d"``, ``"string–graph"``, or ``"within <m>"``.

    >>> t = pd.DataFrame({"modality": ["3d", "string", "3d"]}, index=["a", "b", "c"])
    >>> pair_kinds(pd.DataFrame({"model_a": ["a", "b"], "model_b": ["b", "c"]}), t).tolist()
    ['string–3d', 'string–3d']
    """
    order = {"string": 0, "graph": 1, "3d": 2}
    out = []
    for a, b in zip(pairs["model_a"], pairs["model_b"], strict=True):
        ma, mb = str(table.loc[a, "modality"]), str(table.loc[b, "modality"])
        if ma == mb:
            out.append(f"within {ma}")
        else:
            x, y = sorted((ma, mb), key=lambda v: (order.get(v, 9), v))
            out.append(f"{x}–{y}")
    return pd.Series(out, index=pairs.index, name="kind")


# ------------------------------------------------------------------ sentences
# Conclusion sentences of notebook 07, computed from the evidence objects above and in
# :mod:`matteralign.analysis.evidence` (the notebook types no number or verdict itself).

def _ci(low: float, high: float, level: float = 0.95, signed: bool = False) -> str:
    f = "+.3f" if signed else ".3f"
    return f"[{100 * level:g} % CI {low:{f}}, {high:{f}}]"


def _direction(value: float, low: float, high: float, up: str, down: str) -> str:
    if low > 0:
        return up
    if high < 0:
        return down
    return "no direction established (the interval spans 0)"


def rank_sentence(ev: Any, *, group: str, error_name: str, alpha: float = 0.05) -> str:
    """One line: Spearman's ρ of :func:`~matteralign.analysis.evidence.rank_correlation`
    for one group of models (e.g. one modality's rungs) with its interval and p.

    >>> from types import SimpleNamespace as NS
    >>> ev = NS(rho=-0.8, low=-0.9, high=-0.6, level=0.95, p_value=0.002, n_models=13,
    ...         n_boot=100, alignment=pd.Series({"a": 0.5}, name="cknna_to_ref"))
    >>> print(rank_sentence(ev, group="3d", error_name="energy MAE"))  # doctest: +ELLIPSIS
    - **3d** (13 rungs against ref): ... the interval excludes 0 and p < 0.05.
    """
    from matteralign.analysis.conclusions import fmt_p

    ref = str(ev.alignment.name).removeprefix("cknna_to_")
    how = _direction(-ev.rho, -ev.high, -ev.low, "alignment to the best rung rises as the "
                     "error falls", "alignment to the best rung falls as the error falls")
    sig = (f"the interval excludes 0 and p < {alpha:g}" if (ev.low > 0 or ev.high < 0)
           and ev.p_value < alpha else f"not significant by the permutation over rungs at "
           f"α = {alpha:g}" if ev.p_value >= alpha else f"p < {alpha:g} over rungs")
    return (f"- **{group}** ({ev.n_models} rungs against {ref}): Spearman ρ({error_name}, "
            f"CKNNA to the best) = {ev.rho:+.3f} {_ci(ev.low, ev.high, ev.level, True)} over "
            f"{ev.n_boot} half-sample subsets, {fmt_p(ev.p_value)} (permutation over rungs): "
            f"{how}; {sig}.")


def pair_rank_sentence(pr: PairRank, *, kind: str, error_name: str,
                       alpha: float = 0.05) -> str:
    """One line: :func:`pair_rank_correlation` of one modality pair.

    >>> pairs = pd.DataFrame({"value": [0.2, 0.3, 0.4, 0.5]})
    >>> pr = PairRank(-0.9, 0.01, "exact", "max", 4, 2, 2, pairs)
    >>> pair_rank_sentence(pr, kind="string–3d", error_name="energy MAE")[:58]
    '- **string–3d** (2 × 2 rungs, 4 pairs, mean CKNNA 0.350): '
    """
    from matteralign.analysis.conclusions import fmt_p

    sign = ("falls" if pr.rho < 0 else "rises") if pr.p_value < alpha else \
        f"shows no trend significant at α = {alpha:g}"
    return (f"- **{kind}** ({pr.n_rows} × {pr.n_cols} rungs, {pr.n_pairs} pairs, mean CKNNA "
            f"{float(pr.pairs['value'].mean()):.3f}): Spearman ρ({pr.combine} of the two "
            f"{error_name}s, CKNNA) = {pr.rho:+.2f}, {fmt_p(pr.p_value)} ({pr.p_method}); "
            f"the pair's CKNNA {sign} as its {pr.combine} error grows.")


def paired_sentence(ev: Any, *, what: str, a: str, b: str, units: str) -> str:
    """One line: a :class:`~matteralign.analysis.evidence.PairedEvidence` (``b − a``).

    >>> from types import SimpleNamespace as NS
    >>> ev = NS(mean_a=0.3, mean_b=0.5, mean_difference=0.2, low=0.1, high=0.3, level=0.95,
    ...         p_value=0.004, p_method="exact", n_units=9)
    >>> paired_sentence(ev, what="seed-to-seed CKNNA", a="2k", b="8k", units="seed pairs")[:50]
    'seed-to-seed CKNNA: 0.300 at 2k, 0.500 at 8k; diff'
    """
    from matteralign.analysis.conclusions import fmt_p

    return (f"{what}: {ev.mean_a:.3f} at {a}, {ev.mean_b:.3f} at {b}; difference "
            f"{ev.mean_difference:+.3f} {_ci(ev.low, ev.high, ev.level, True)} (bootstrap over "
            f"{ev.n_units} {units}), {fmt_p(ev.p_value)} ({ev.p_method}).")
