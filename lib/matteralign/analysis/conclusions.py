"""Conclusion sentences computed from numbers (never typed in by hand).

Each notebook ends with a cell that displays ``IPython.display.Markdown`` built by one of
these functions, so the stated conclusion changes when the numbers do. The functions only
format and compare numbers they are given; thresholds they use are arguments.

Examples
--------
>>> fmt_p(0.0001, 9999)
'p < 0.001'
>>> fmt_p(0.2, 999)
'p = 0.2'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "fmt_p",
    "grouping_sentence",
    "grouping_conclusion",
    "scale_sentence",
    "cross_modality_conclusion",
    "trend_conclusion",
    "distribution_conclusion",
    "robustness_conclusion",
    "stabilisation_sentence",
    "protein_conclusion",
    "missing_weights_note",
    "block_contrast_sentence",
    "publish",
]


def fmt_p(p: float, n_permutations: int | None = None, alpha_floor: float = 0.001) -> str:
    """``p = 0.03`` or ``p < 0.001`` (the resolution of a permutation test is
    ``1/(n_permutations + 1)``)."""
    if p is None or not np.isfinite(p):
        return "p not estimable"
    floor = max(alpha_floor, 1.0 / (n_permutations + 1)) if n_permutations else alpha_floor
    return f"p < {floor:g}" if p < floor else f"p = {p:.2g}"


def grouping_sentence(row: Mapping[str, Any], alpha: float = 0.05) -> str:
    """One sentence for one row of :func:`~matteralign.analysis.grouping.compare_groupings`."""
    g = str(row["grouping"]).replace("_", " ")
    s = str(row.get("stratified_by") or "").replace("_", " ")
    if not np.isfinite(row["statistic"]):
        return f"{g}{' within ' + s if s else ''}: not estimable (no variation)."
    verdict = "separates models" if row["p_value"] < alpha and row["statistic"] > 0 else \
        "does not detectably separate models"
    where = f" among models of the same {s}" if s else ""
    r2 = f", R² = {row['r2']:.2f}" if np.isfinite(row.get("r2", np.nan)) else ""
    return (f"**{g}**{where} {verdict}: within {row['mean_within']:.3f} vs across "
            f"{row['mean_across']:.3f} (difference {row['statistic']:+.3f}, z = {row['z']:.1f}"
            f"{r2}, {fmt_p(row['p_value'], row.get('n_permutations'))}).")


def grouping_conclusion(tables: Mapping[str, pd.DataFrame], *, family: str = "family",
                        training: str = "corpus", alpha: float = 0.05) -> str:
    """Markdown: per dataset, the grouping sentences and which of family / training data
    explains more of the distances (PERMANOVA R²) and whether each survives conditioning on
    the other (stratified tests)."""
    lines = []
    verdicts = []
    for ds, df in tables.items():
        lines.append(f"- **{ds}**: " + " ".join(grouping_sentence(r, alpha) for _, r in df.iterrows()))
        plain = df[df["stratified_by"] == ""].set_index("grouping")
        strat = df[df["stratified_by"] != ""].set_index(["grouping", "stratified_by"])
        if family in plain.index and training in plain.index:
            r2f, r2t = float(plain.loc[family, "r2"]), float(plain.loc[training, "r2"])
            if not (np.isfinite(r2f) and np.isfinite(r2t)):
                continue
            more = "family" if r2f > r2t else "training corpus"
            tf = strat["p_value"].get((training, family), np.nan)
            ft = strat["p_value"].get((family, training), np.nan)
            verdicts.append((ds, more, r2f, r2t, tf, ft))

    def stratified(what: str, p: float) -> str:
        if p is None or not np.isfinite(p):
            return f"{what} could not be tested (no stratum holds two groups)"
        return f"{what} {'is' if p < alpha else 'is not'} significant ({fmt_p(p)})"

    summary = []
    for ds, more, r2f, r2t, tf, ft in verdicts:
        summary.append(
            f"{ds}: {more} explains more variance (R² {r2f:.2f} for family vs "
            f"{r2t:.2f} for training corpus); "
            + stratified("training corpus within families", tf) + ", "
            + stratified("family within training corpora", ft))
    n_family = sum(v[1] == "family" for v in verdicts)
    head = (f"On {n_family} of {len(verdicts)} published datasets the model family explains more "
            f"of the distance matrix than the training corpus does. "
            if verdicts else "")
    return head + "; ".join(summary) + (".\n\n" if summary else "") + "\n".join(lines)


def scale_sentence(ours: Mapping[str, float], published: Mapping[str, float]) -> str:
    """Compare summary statistics of our recomputed distances with the published ones
    (e.g. ``{"median": …, "min": …, "max": …}``)."""
    parts = [f"{k} {ours[k]:.3f} (published {published[k]:.3f})" for k in ours if k in published]
    return "Recomputed distances vs published: " + ", ".join(parts) + "."


def _pairs_text(tensor: Any, metric: str, top: int = 3) -> tuple[str, str, float]:
    da = tensor.sel(metric=metric)
    names = [str(x) for x in da["model_a"].values]
    m = np.asarray(da.values, float)
    iu = np.triu_indices(len(names), 1)
    vals = m[iu]
    order = np.argsort(vals)[::-1]
    best = ", ".join(f"{names[iu[0][i]]}–{names[iu[1][i]]} {vals[i]:.2f}" for i in order[:top])
    worst = ", ".join(f"{names[iu[0][i]]}–{names[iu[1][i]]} {vals[i]:.2f}" for i in order[::-1][:top])
    return best, worst, float(np.nanmean(vals))


def cross_modality_conclusion(tensor: Any, *, metrics: Sequence[str] = ("cknna",),
                              modality: str = "modality") -> str:
    """Markdown: mean alignment within vs across modalities per metric, strongest and weakest
    pairs."""
    out = []
    for metric in metrics:
        if metric not in tensor["metric"].values:
            continue
        da = tensor.sel(metric=metric)
        m = np.asarray(da.values, float)
        n = m.shape[0]
        iu = np.triu_indices(n, 1)
        key = f"{modality}_a"
        mods = np.asarray(da[key].values).astype(str) if key in da.coords else np.array([""] * n)
        same = (mods[:, None] == mods[None, :])[iu]
        within = np.nanmean(m[iu][same]) if same.any() else np.nan
        across = np.nanmean(m[iu][~same]) if (~same).any() else np.nan
        best, worst, mean = _pairs_text(tensor, metric)
        w = f"{within:.3f}" if np.isfinite(within) else "(no two models share one)"
        a = f"{across:.3f}" if np.isfinite(across) else "(all models share one)"
        out.append(
            f"- **{metric}** (mean over {len(iu[0])} pairs {mean:.3f}): within one {modality} "
            f"{w}, across {modality}s {a}. Most aligned: {best}. "
            f"Least aligned: {worst}.")
    return "\n".join(out)


def trend_conclusion(fit: Any, *, reference: str, error_name: str, unit: str,
                     alpha: float = 0.05) -> str:
    """Markdown: sign and strength of the alignment-vs-error trend.

    The slope is CKNNA (unitless) per one ``unit`` of error, so ``unit`` is required (e.g.
    ``"eV/atom"``, ``"eV/Å"``; ``""`` only for a unitless error, which is then said).
    Where the least-squares slope and Spearman's ρ disagree in sign, the sentence says so
    instead of claiming a direction.

    >>> from types import SimpleNamespace as F
    >>> fit = F(n=5, slope=-0.5, r2=0.8, spearman_rho=-0.9, spearman_p=0.037)
    >>> trend_conclusion(fit, reference="m", error_name="force MAE", unit="eV/Å").split(";")[0]
    '**force MAE**: across 5 models, CKNNA to m falls by 0.5 per 1 eV/Å of force MAE (R² = 0.80)'
    """
    sig = "significant" if fit.spearman_p < alpha else "not significant"
    per = f"per 1 {unit} of {error_name}" if unit else f"per unit of {error_name} (unitless)"
    verb = "falls" if fit.slope < 0 else "rises"
    head = (f"**{error_name}**: across {fit.n} models, CKNNA to {reference} {verb} by "
            f"{abs(fit.slope):.3g} {per} (R² = {fit.r2:.2f}); ")
    rank = f"Spearman ρ = {fit.spearman_rho:.2f}, {fmt_p(fit.spearman_p)}, {sig} at α = {alpha}"
    if not np.isfinite(fit.spearman_rho) or fit.spearman_rho == 0:
        return head + f"the ranks show no association ({rank})."
    if np.sign(fit.spearman_rho) != np.sign(fit.slope):
        return head + (f"the rank correlation points the other way ({rank}), so the direction "
                       "is not established.")
    direction = "lower" if fit.spearman_rho < 0 else "higher"
    return head + (f"models more aligned with {reference} tend to have {direction} "
                   f"{error_name} ({rank}).")


def distribution_conclusion(summary: pd.DataFrame, *, value: str, group: str,
                            label: str | None = None) -> str:
    """Markdown: the mean ``value`` per ``group`` (e.g. CKNNA per dataset regime) and the
    largest/smallest. ``label`` names the value in the text (default: ``value`` with spaces
    for underscores); NaN values are left out and groups with none are named as such.

    >>> df = pd.DataFrame({"regime": ["a", "a", "b", "c"], "id": [2.0, 4.0, 5.0, np.nan]})
    >>> distribution_conclusion(df, value="id", group="regime", label="intrinsic dimension")
    'Mean intrinsic dimension by regime: a 3.000, b 5.000. Highest on **b**, lowest on **a** (difference 2.000). Not estimable on c.'
    """
    label = label or value.replace("_", " ")
    all_means = summary.groupby(group)[value].mean()
    means = all_means.dropna().sort_values()
    missing = [str(g) for g in all_means.index if g not in means.index]
    tail = f" Not estimable on {', '.join(missing)}." if missing else ""
    if means.empty:
        return f"{label[:1].upper() + label[1:]}: not estimable on any {group}.{tail}"
    parts = ", ".join(f"{g} {v:.3f}" for g, v in means.items())
    text = f"Mean {label} by {group}: {parts}."
    if len(means) > 1:
        text += (f" Highest on **{means.index[-1]}**, lowest on **{means.index[0]}** "
                 f"(difference {means.iloc[-1] - means.iloc[0]:.3f}).")
    return text + tail


def robustness_conclusion(rows: Mapping[str, tuple[float, float]], *, what: str = "CKNNA") -> str:
    """Markdown: for each factor, the range of the estimate across its settings.

    ``rows`` maps a factor name to ``(min, max)`` of the estimate across its settings.

    >>> print(robustness_conclusion({"k": (0.4, 0.5), "layer": (float("nan"), float("nan"))}))
    - **k**: CKNNA ranges 0.400–0.500 (spread 0.100).
    - **layer**: not estimated (no setting ran).
    """
    return "\n".join(
        f"- **{f}**: {what} ranges {lo:.3f}–{hi:.3f} (spread {hi - lo:.3f})."
        if np.isfinite(lo) and np.isfinite(hi) else f"- **{f}**: not estimated (no setting ran)."
        for f, (lo, hi) in rows.items())


def stabilisation_sentence(sizes: Sequence[float], estimates: Sequence[float], *,
                           tolerance: float, what: str = "The mean CKNNA over pairs",
                           per_group: Sequence[float] | None = None,
                           group_name: str = "pairs") -> str:
    """Markdown: where an estimate stabilises as the number of samples N grows, or that it
    does not within the sampled sizes.

    The stabilisation point is :func:`~matteralign.analysis.trends.stabilisation_point`: the
    smallest sampled N from which every estimate stays within ``±tolerance`` of the estimate at
    the largest N. Sizes whose estimate is NaN are left out. ``per_group`` (optional) holds
    the same point for each group (e.g. each model pair; NaN = not stable), summarised as a
    count.

    >>> stabilisation_sentence([50, 100, 200], [0.6, 0.45, 0.44], tolerance=0.02)
    'The mean CKNNA over pairs stabilises at N = 100: from there on it stays within ±0.02 of its value at the largest N = 200 (0.440); at N = 50 it was 0.160 away.'
    >>> stabilisation_sentence([50, 100, 200], [0.6, 0.5, 0.44], tolerance=0.02)[:77]
    'The mean CKNNA over pairs does not stabilise within the sampled range (N = 50'
    """
    from matteralign.analysis.trends import stabilisation_point

    s = np.asarray(sizes, dtype=float)
    e = np.asarray(estimates, dtype=float)
    ok = np.isfinite(s) & np.isfinite(e)
    s, e = s[ok], e[ok]
    order = np.argsort(s)
    s, e = s[order], e[order]
    sampled = ", ".join(f"{v:g}" for v in s)
    if len(s) < 2:
        return (f"{what} was estimated at {'one sample size' if len(s) else 'no sample size'}"
                f"{f' (N = {sampled})' if len(s) else ''}; where it stabilises cannot be judged.")
    point = stabilisation_point(s, e, tolerance=tolerance)
    final, largest = e[-1], s[-1]
    if not np.isfinite(point):
        text = (f"{what} does not stabilise within the sampled range (N = {sampled}): at "
                f"N = {s[-2]:g} it is {e[-2]:.3f}, {abs(e[-2] - final):.3f} away from its value "
                f"{final:.3f} at N = {largest:g}, more than ±{tolerance:g}; larger samples are "
                "needed to locate where it settles.")
    elif point == s[0]:
        text = (f"{what} is stable over the whole sampled range (N = {sampled}): already at the "
                f"smallest N = {point:g} it is within ±{tolerance:g} of its value "
                f"{final:.3f} at N = {largest:g}.")
    else:
        before = int(np.searchsorted(s, point)) - 1
        text = (f"{what} stabilises at N = {point:g}: from there on it stays within "
                f"±{tolerance:g} of its value at the largest N = {largest:g} ({final:.3f}); at "
                f"N = {s[before]:g} it was {abs(e[before] - final):.3f} away.")
    if per_group is not None and len(per_group):
        pg = np.asarray(per_group, dtype=float)
        n_stable = int(np.isfinite(pg).sum())
        text += (f" Taken one by one, {n_stable} of {len(pg)} {group_name} stabilise before "
                 f"N = {largest:g} by the same rule.")
    return text


def sample_size_conclusion(stability: pd.DataFrame, required: Mapping[str, Any], *,
                           tau_min: float, tolerance: float) -> str:
    """Markdown: per sample-size sweep, where the conclusions stop moving (the output of
    :func:`~matteralign.analysis.sample_size.stability_table` stacked with a ``sweep``
    column, and ``{sweep: required N or None}``).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"sweep": ["s", "s"], "tau": [0.8, 1.0], "tau_low": [0.5, 1.0],
    ...                   "tau_high": [0.9, 1.0], "delta": [0.03, 0.0], "delta_low": [0.02, 0.0],
    ...                   "delta_high": [0.04, 0.0], "stable": [False, True]},
    ...                  index=pd.Index([100, 200], name="n"))
    >>> print(sample_size_conclusion(t, pd.Series({"s": None}, dtype=float), tau_min=0.9,
    ...                              tolerance=0.02))
    - **s**: not stable before the largest N = 200: at N = 100 Kendall τ = 0.80 [0.50, 0.90] and the mean CKNNA is +0.030 [+0.020, +0.040] from its value at N = 200; larger samples are needed.
    """
    lines = []
    for name, g in stability.groupby("sweep", sort=False):
        g = g.sort_index()
        largest = int(g.index.max())
        need = required.get(name)
        if need is None or not np.isfinite(float(need)):  # a pandas Series stores None as NaN
            row = g.iloc[-2] if len(g) > 1 else g.iloc[-1]
            lines.append(
                f"- **{name}**: not stable before the largest N = {largest}: at N = {row.name} "
                f"Kendall τ = {row['tau']:.2f} [{row['tau_low']:.2f}, {row['tau_high']:.2f}] and "
                f"the mean CKNNA is {row['delta']:+.3f} [{row['delta_low']:+.3f}, "
                f"{row['delta_high']:+.3f}] from its value at N = {largest}; larger samples are "
                "needed.")
            continue
        need = int(need)
        row = g.loc[need]
        below = g[g.index < need]
        before = ""
        if len(below):
            b = below.iloc[-1]
            before = (f" At N = {b.name} it was not (τ = {b['tau']:.2f} [{b['tau_low']:.2f}, "
                      f"{b['tau_high']:.2f}], Δmean {b['delta']:+.3f}).")
        lines.append(
            f"- **{name}**: stable from N = {need} (of {largest}): Kendall τ = {row['tau']:.2f} "
            f"[95 % CI {row['tau_low']:.2f}, {row['tau_high']:.2f}] ≥ {tau_min:g} and the mean "
            f"CKNNA within ±{tolerance:g} ({row['delta']:+.3f} [{row['delta_low']:+.3f}, "
            f"{row['delta_high']:+.3f}]).{before}")
    return "\n".join(lines)


def protein_conclusion(seq_struct: float, within_seq: float, small_molecule: float | None) -> str:
    """Markdown: sequence–structure alignment against within-sequence (and small-molecule)
    alignment."""
    def num(v: float) -> str:
        return f"{v:.3f}" if v is not None and np.isfinite(v) else "not estimable (too few models)"

    text = (f"Mean CKNNA between sequence and structure models: {num(seq_struct)}; among sequence "
            f"models: {num(within_seq)}.")
    if (small_molecule is not None and np.isfinite(small_molecule) and small_molecule > 0
            and np.isfinite(seq_struct)):
        text += (f" Small-molecule models align at {small_molecule:.3f} on QM9, so proteins "
                 f"align {seq_struct / small_molecule:.1f}× as strongly (paper: about 2×).")
    return text


def missing_weights_note(missing: Mapping[str, str]) -> str:
    """Markdown list of the models that could not run, each with what to download."""
    if not missing:
        return ""
    return "Models skipped because their weights are not on this machine:\n\n" + "\n".join(
        f"- **{m}**: {msg}" for m, msg in missing.items())


def publish(text: str, out_dir: Any = None, *, title: str = "Conclusion") -> Any:
    """Return ``IPython.display.Markdown`` of ``### <title>`` + ``text``, and write the same
    text to ``<out_dir>/conclusion.md`` (atomically) when ``out_dir`` is given."""
    from IPython.display import Markdown

    body = f"### {title}\n\n{text}\n"
    if out_dir is not None:
        from pathlib import Path

        from matteralign.analysis.paths import save_text

        save_text(body, Path(out_dir) / "conclusion.md")
    return Markdown(body)


def block_contrast_sentence(ev: Any, *, block: str, floor: str, dataset: str = "") -> str:
    """Markdown: one :class:`~matteralign.analysis.evidence.BlockContrast` in words — the
    block mean, the floor mean, their difference with its interval, and the block mean's
    permutation p against its chance level.

    >>> from types import SimpleNamespace as NS
    >>> ev = NS(metric="cknna", block_mean=0.3, floor_mean=0.1, value=0.2, low=0.15, high=0.26,
    ...         level=0.95, p_value=0.005, n_perm=199, null_mean=0.01)
    >>> print(block_contrast_sentence(ev, block="string × 3D", floor="control × 3D"))
    cknna, string × 3D 0.300 vs control × 3D 0.100: difference +0.200 [95 % CI +0.150, +0.260]; string × 3D against shuffled samples (chance 0.010): p = 0.005.
    """
    where = f"on {dataset}, " if dataset else ""
    return (f"{where}{ev.metric}, {block} {ev.block_mean:.3f} vs {floor} {ev.floor_mean:.3f}: "
            f"difference {ev.value:+.3f} [{100 * ev.level:g} % CI {ev.low:+.3f}, "
            f"{ev.high:+.3f}]; {block} against shuffled samples (chance {ev.null_mean:.3f}): "
            f"{fmt_p(ev.p_value, ev.n_perm)}.")
