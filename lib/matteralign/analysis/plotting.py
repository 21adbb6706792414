"""Figures with one look: seaborn styling, consistent colours per category, heatmaps with
modality annotations, trend plots with bands, and an atomic PNG + SVG writer.

Colours are assigned per *category value* in sorted order from one palette, so "MPTrj" has the
same colour in every figure of a run that shows the same set of values.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign.io import atomic_path

__all__ = [
    "MARKERS",
    "use_style",
    "colours_for",
    "markers_for",
    "save_figure",
    "alignment_heatmap",
    "trend_plot",
    "k_sweep_plot",
    "category_legend",
]

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
METRIC_LABELS = {
    "cknna": "CKNNA",
    "mutual_knn": "mutual k-NN",
    "cka": "CKA",
    "dcor": "distance correlation",
    "distance_correlation": "distance correlation",
    "dcor_unbiased": "bias-corrected dCor",
    "sqrt_jsd_cknna": "sqrt(JSD) of CKNNA",
}


def use_style() -> None:
    """seaborn ``whitegrid`` with ``notebook`` context and readable font sizes."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)


def colours_for(values: Sequence[Any], palette: str = "tab10") -> dict[str, Any]:
    """``{value: colour}`` for the distinct values, sorted; ``tab20`` beyond 10 values.

    >>> c = colours_for(["b", "a", "b"])
    >>> list(c)
    ['a', 'b']
    """
    import seaborn as sns

    uniq = sorted({str(v) for v in values})
    pal = sns.color_palette(palette if len(uniq) <= 10 else "tab20", max(len(uniq), 1))
    return {u: pal[i % len(pal)] for i, u in enumerate(uniq)}


def markers_for(values: Sequence[Any]) -> dict[str, str]:
    """``{value: marker}`` for the distinct values, sorted.

    >>> markers_for(["x", "y"])
    {'x': 'o', 'y': 's'}
    """
    uniq = sorted({str(v) for v in values})
    return {u: MARKERS[i % len(MARKERS)] for i, u in enumerate(uniq)}


def category_legend(ax: Any, colours: dict[str, Any] | None = None,
                    markers: dict[str, str] | None = None, *, colour_title: str = "",
                    marker_title: str = "", loc: str = "upper left",
                    bbox: tuple[float, float] = (1.01, 1.0)) -> Any:
    """A legend of colour patches and/or grey marker symbols outside the axis."""
    from matplotlib.lines import Line2D

    handles = []
    if colours:
        if colour_title:
            handles.append(Line2D([], [], ls="", label=colour_title))
        handles += [Line2D([], [], ls="", marker="o", color=c, markersize=7, label=k)
                    for k, c in colours.items()]
    if markers:
        if marker_title:
            handles.append(Line2D([], [], ls="", label=marker_title))
        handles += [Line2D([], [], ls="", marker=m, color="0.4", markersize=7, label=k)
                    for k, m in markers.items()]
    return ax.legend(handles=handles, loc=loc, bbox_to_anchor=bbox, fontsize=7, frameon=False)


def save_figure(fig: Any, out_dir: str | os.PathLike, name: str, *, dpi: int = 150) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<name>.png`` and ``.svg`` (each atomically).

    Returns:
        The two paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        target = out / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight",
                        metadata=None if ext == "png" else {"Date": None})
        paths.append(target)
    return paths


def alignment_heatmap(
    tensor: xr.DataArray,
    metric: str,
    *,
    ax: Any = None,
    order: Sequence[int] | None = None,
    annotate: str | None = "modality",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    title: str | None = None,
    numbers: bool | None = None,
) -> Any:
    """Seaborn heatmap of one metric of an alignment tensor.

    Tick labels are coloured by the metadata coordinate ``<annotate>_a`` (e.g. modality),
    with a legend; ``order`` permutes the models (e.g. from
    :func:`~matteralign.analysis.trees.cluster_order`). Cells carry numbers when there are at
    most 12 models (or when ``numbers=True``).

    Returns:
        The axis.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    da = tensor.sel(metric=metric) if "metric" in tensor.dims else tensor
    names = [str(v) for v in da["model_a"].values]
    idx = list(range(len(names))) if order is None else list(order)
    mat = np.asarray(da.values, dtype=float)[np.ix_(idx, idx)]
    labels = [names[i] for i in idx]
    if ax is None:
        size = max(4.0, 0.45 * len(labels) + 2)
        _, ax = plt.subplots(figsize=(size + 1.5, size))
    show = (len(labels) <= 12) if numbers is None else numbers
    label = METRIC_LABELS.get(metric, metric)
    sns.heatmap(mat, ax=ax, xticklabels=labels, yticklabels=labels, vmin=vmin, vmax=vmax,
                cmap=cmap, square=True, annot=show, fmt=".2f", annot_kws={"fontsize": 7},
                cbar_kws={"label": f"{label} (unitless)", "shrink": 0.7})
    ax.tick_params(axis="x", labelrotation=90, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=8)
    key = f"{annotate}_a" if annotate else None
    if key and key in da.coords:
        groups = [str(da[key].values[i]) for i in idx]
        colours = colours_for(groups)
        for tick, g in zip(ax.get_xticklabels(), groups, strict=False):
            tick.set_color(colours[g])
        for tick, g in zip(ax.get_yticklabels(), groups, strict=False):
            tick.set_color(colours[g])
        category_legend(ax, colours, colour_title=annotate, bbox=(1.25, 1.0))
    ax.set_title(title or f"{label} between models")
    return ax


def trend_plot(
    fit: Any,
    x: Sequence[float],
    y: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    hue: Sequence[str] | None = None,
    ax: Any = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    hue_title: str = "",
) -> Any:
    """Scatter ``(x, y)`` coloured by ``hue`` with the fitted line and its bootstrap band from
    a :class:`~matteralign.analysis.trends.TrendFit`; Spearman's ρ and p in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    hue = [str(h) for h in hue] if hue is not None else ["model"] * len(x)
    colours = colours_for(hue)
    ax.fill_between(fit.grid, fit.band_low, fit.band_high, color="0.85",
                    label=f"{int(fit.level * 100)}% bootstrap band")
    ax.plot(fit.grid, fit.fitted, color="0.3", lw=1.5,
            label=f"least squares (Spearman ρ = {fit.spearman_rho:.2f}, p = {fit.spearman_p:.2g})")
    for xi, yi, h in zip(x, y, hue, strict=False):
        ax.scatter([xi], [yi], color=colours[h], s=45, edgecolor="k", linewidth=0.4, zorder=3)
    if labels is not None:
        for xi, yi, lab in zip(x, y, labels, strict=False):
            ax.annotate(str(lab), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=7)
    if fit.log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    leg = ax.legend(loc="best", fontsize=7)
    ax.add_artist(leg)
    category_legend(ax, colours, colour_title=hue_title)
    return ax


def k_sweep_plot(
    by_k: Any,
    *,
    max_fraction: float | None = None,
    hue: str = "pair",
    ax: Any = None,
    ylabel: str = "CKNNA (unitless)",
    title: str = "",
) -> Any:
    """CKNNA against the neighbourhood size ``k`` (log axis), one line per ``hue`` group,
    with the regime where the estimator is unreliable marked.

    ``by_k`` is a :func:`~matteralign.analysis.robustness.sweep_k` table (columns ``k``,
    ``n``, ``value`` and ``hue``). Points with ``k/N > max_fraction`` (default
    :data:`matteralign.metrics.CKNNA_MAX_K_FRACTION`) are drawn hollow on a dashed line
    over a shaded band, with the legend entry "k/N > f: estimator unreliable": when k is a
    large fraction of N the neighbourhoods cover most of the sample, CKNNA tends to the
    global (CKA-like) alignment and the unbiased HSIC estimator is no longer bounded by 1
    (see :func:`matteralign.metrics.cknna`). Ordinary points are filled.

    Returns:
        The axis.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import NullLocator

    if max_fraction is None:
        from matteralign.metrics import CKNNA_MAX_K_FRACTION as max_fraction
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    groups = [str(g) for g in by_k[hue]]
    colours = colours_for(groups)
    table = by_k.assign(**{hue: groups})
    n = np.asarray(table["n"], dtype=float)
    unreliable = np.asarray(table["k"], dtype=float) / n > max_fraction
    handles = []
    for group, colour in colours.items():
        rows = table[table[hue] == group]
        means = rows.groupby("k")["value"].mean()
        k = means.index.to_numpy(dtype=float)
        bad = k / float(rows["n"].max()) > max_fraction
        split = int(np.argmax(bad)) if bad.any() else len(k)
        ax.plot(k[: split], means.values[: split], color=colour, lw=1.5)
        if bad.any():  # dashed from the last reliable point on
            lo = max(split - 1, 0)
            ax.plot(k[lo:], means.values[lo:], color=colour, lw=1.2, ls="--")
        ax.scatter(k[~bad], means.values[~bad], color=colour, s=36, zorder=3, edgecolor="k",
                   linewidth=0.4)
        ax.scatter(k[bad], means.values[bad], facecolors="none", edgecolors=colour, s=36,
                   zorder=3, linewidth=1.2)
        handles.append(Line2D([], [], color=colour, marker="o", markersize=5, label=group))
    ax.set_xscale("log")
    ticks = sorted({float(k) for k in table["k"]})
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [f"{k:g}" for k in ticks])
    if unreliable.any():
        left = float(max_fraction * n[unreliable].min())
        right = float(np.asarray(table["k"], dtype=float).max()) * 1.3
        ax.axvspan(left, right, color="0.9", zorder=0, lw=0)
        ax.set_xlim(right=right)
        handles.append((Patch(facecolor="0.9", lw=0),
                        Line2D([], [], ls="--", marker="o", markerfacecolor="none", color="0.3",
                               markersize=5)))
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    labels = [h.get_label() for h in handles if not isinstance(h, tuple)]
    if unreliable.any():
        labels.append(f"k/N > {max_fraction:g}: estimator unreliable")
    ax.legend(handles=handles, labels=labels, fontsize=7, bbox_to_anchor=(1.01, 1),
              loc="upper left", frameon=False)
    return ax
