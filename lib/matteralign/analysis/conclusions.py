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
    "protein_conclusion",
    "missing_weights_note",
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
            r2f, r2t = plain.loc[family, "r2"], plain.loc[training, "r2"]
            more = family if r2f > r2t else training
            tf = strat["p_value"].get((training, family), np.nan)
            ft = strat["p_value"].get((family, training), np.nan)
            verdicts.append((ds, more, r2f, r2t, tf, ft))
    summary = []
    for ds, more, r2f, r2t, tf, ft in verdicts:
        summary.append(
            f"{ds}: {more.replace('_', ' ')} explains more variance (R² {r2f:.2f} for family vs "
            f"{r2t:.2f} for training corpus); training corpus within families "
            f"{'is' if tf < alpha else 'is not'} significant ({fmt_p(tf)}), family within "
            f"corpora {'is' if ft < alpha else 'is not'} ({fmt_p(ft)})")
    n_family = sum(v[1] == family for v in verdicts)
    head = (f"On {n_family} of {len(verdicts)} published datasets the model family explains more "
            f"of the distance matrix than the training corpus does. "
            if verdicts else "")
    return head + "; ".join(summary) + ".\n\n" + "\n".join(lines)


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
        out.append(
            f"- **{metric}** (mean over {len(iu[0])} pairs {mean:.3f}): within one {modality} "
            f"{within:.3f}, across {modality}s {across:.3f}. Most aligned: {best}. "
            f"Least aligned: {worst}.")
    return "\n".join(out)


def trend_conclusion(fit: Any, *, reference: str, error_name: str, unit: str = "",
                     alpha: float = 0.05) -> str:
    """Markdown: sign and strength of the alignment-vs-error trend."""
    direction = "lower" if fit.spearman_rho < 0 else "higher"
    sig = "significant" if fit.spearman_p < alpha else "not significant"
    per = f"per {unit} of {error_name}" if unit else f"per unit of {error_name}"
    verb = "falls" if fit.slope < 0 else "rises"
    return (f"**{error_name}**: across {fit.n} models, CKNNA to {reference} {verb} by "
            f"{abs(fit.slope):.3g} {per} (R² = {fit.r2:.2f}); models more aligned with "
            f"{reference} tend to have {direction} {error_name} (Spearman ρ = "
            f"{fit.spearman_rho:.2f}, {fmt_p(fit.spearman_p)}, {sig} at α = {alpha}).")


def distribution_conclusion(summary: pd.DataFrame, *, value: str, group: str) -> str:
    """Markdown: the mean ``value`` per ``group`` (e.g. CKNNA per dataset regime) and the
    largest/smallest."""
    means = summary.groupby(group)[value].mean().sort_values()
    parts = ", ".join(f"{g} {v:.3f}" for g, v in means.items())
    return (f"Mean {value} by {group}: {parts}. Highest on **{means.index[-1]}**, lowest on "
            f"**{means.index[0]}** (difference {means.iloc[-1] - means.iloc[0]:.3f}).")


def robustness_conclusion(rows: Mapping[str, tuple[float, float]], *, what: str = "CKNNA") -> str:
    """Markdown: for each factor, the range of the estimate across its settings.

    ``rows`` maps a factor name to ``(min, max)`` of the estimate across its settings.

    >>> robustness_conclusion({"k": (0.4, 0.5)})
    '- **k**: CKNNA ranges 0.400–0.500 (spread 0.100).'
    """
    return "\n".join(f"- **{f}**: {what} ranges {lo:.3f}–{hi:.3f} (spread {hi - lo:.3f})."
                     for f, (lo, hi) in rows.items())


def protein_conclusion(seq_struct: float, within_seq: float, small_molecule: float | None) -> str:
    """Markdown: sequence–structure alignment against within-sequence (and small-molecule)
    alignment."""
    text = (f"Mean CKNNA between sequence and structure models: {seq_struct:.3f}; among sequence "
            f"models: {within_seq:.3f}.")
    if small_molecule is not None and np.isfinite(small_molecule) and small_molecule > 0:
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
