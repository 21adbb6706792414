"""Distances between models from CKNNA, and trees over them (Fig. 1F of arXiv 2512.03750).

The paper turns CKNNA (k = 25) into model-to-model distances with a "sqrt(JSD)" transform
(its appendix eqs A9–A12), whose exact form is not available here. :func:`cknna_to_distance`
implements two candidate forms (``form=``), documented there; ``"rows"`` is the default.
Trees are built with neighbour joining (:func:`neighbour_joining`, Saitou & Nei 1987) or
average linkage (UPGMA, :func:`average_linkage`), and drawn by :func:`draw_tree` with leaves
coloured by one label (training data) and shaped by another (architecture class).

Examples
--------
>>> import numpy as np
>>> d = np.array([[0, 5, 9, 9, 8], [5, 0, 10, 10, 9], [9, 10, 0, 8, 7],
...               [9, 10, 8, 0, 3], [8, 9, 7, 3, 0]], float)
>>> tree = neighbour_joining(d, list("abcde"))
>>> tree.newick()
'((c:4,(a:2,b:3):3):2,(d:2,e:1):0);'
>>> tree.path_length("a", "d")
9.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from matteralign.errors import ValidationError

__all__ = [
    "JSD_FORMS",
    "jsd",
    "cknna_to_distance",
    "Tree",
    "neighbour_joining",
    "average_linkage",
    "cluster_order",
    "draw_tree",
    "draw_model_tree",
    "leaf_values",
    "build_tree",
    "distance_summary",
]

JSD_FORMS = ("rows", "pair")


def jsd(p: Any, q: Any, *, base: float = 2.0, axis: int = -1) -> np.ndarray:
    """Jensen–Shannon divergence between discrete distributions.

    ``JSD(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M)`` with ``M = ½ (P + Q)``; inputs are normalised
    to sum to one along ``axis``; ``0 log 0 = 0``. With ``base=2`` it lies in [0, 1] and its
    square root is a metric (Endres & Schindelin 2003). Cost O(size).

    Args:
        p, q: non-negative arrays broadcastable to one shape.
        base: logarithm base.
        axis: the axis holding the distribution.

    Returns:
        The divergence, with ``axis`` reduced.

    >>> float(jsd([1, 0], [0, 1])), float(jsd([0.3, 0.7], [0.3, 0.7]))
    (1.0, 0.0)
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if (p < 0).any() or (q < 0).any():
        raise ValidationError("jsd() needs non-negative inputs")
    p = p / p.sum(axis=axis, keepdims=True)
    q = q / q.sum(axis=axis, keepdims=True)
    m = 0.5 * (p + q)

    def _kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(a > 0, a * np.log(a / np.where(b > 0, b, 1.0)), 0.0)
        return term.sum(axis=axis)

    out = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
    return np.maximum(out / np.log(base), 0.0)


def _square(matrix: Any, metric: str) -> tuple[np.ndarray, list[str] | None, xr.DataArray | None]:
    if isinstance(matrix, xr.DataArray):
        da = matrix
        if "metric" in da.dims:
            if metric not in da["metric"].values:
                raise ValidationError(
                    f"alignment tensor has no metric {metric!r}; it has {list(da['metric'].values)}"
                )
            da = da.sel(metric=metric)
        if da.ndim != 2:
            raise ValidationError(f"expected a (model_a, model_b) matrix; got dims {da.dims}")
        return np.asarray(da.values, dtype=float), [str(v) for v in da[da.dims[0]].values], da
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValidationError(f"expected a square matrix; got shape {arr.shape}")
    return arr, None, None


def cknna_to_distance(matrix: Any, *, form: str = "rows", metric: str = "cknna") -> Any:
    """sqrt(JSD) distances between models from their CKNNA similarities.

    Two forms (the paper's eqs A9–A12 are not available here; ``form`` chooses):

    * ``"rows"`` (default): each model *i* is described by its CKNNA profile against all
      models, ``P_i(j) = c⁺_ij / Σ_l c⁺_il`` with ``c⁺ = max(c, 0)`` and ``c_ii = 1``; the
      distance is ``d_ij = sqrt(JSD₂(P_i, P_j))``. Two models are close when they align the
      same way with everybody; near-duplicates (same checkpoint, two feature variants) come out
      at ~10⁻³. The value depends on which models are in the set.
    * ``"pair"``: each pair on its own, ``d_ij = sqrt(JSD₂(Bern(1), Bern(c⁺_ij)))`` — the
      divergence between a perfectly aligned pair and this one; 0 at ``c = 1`` and 1 at
      ``c = 0``. Independent of the other models.

    Both are symmetric (the input is symmetrised as ``(C + Cᵀ)/2``), zero on the diagonal and
    within [0, 1]; ``"rows"`` also satisfies the triangle inequality (sqrt(JSD) is a metric
    between the profiles), ``"pair"`` need not (it is a monotone function of each CKNNA).
    Cost O(M²·M) for ``"rows"``, O(M²) for ``"pair"``.

    Args:
        matrix: ``(M, M)`` CKNNA array, a ``(model_a, model_b)`` DataArray, or an alignment
            tensor with a ``metric`` dim (``metric`` selects the entry).
        form: ``"rows"`` or ``"pair"``.

    Returns:
        Same kind as the input (a DataArray keeps the model coordinates and metadata, with
        ``attrs["distance"]`` naming the form).

    >>> import numpy as np
    >>> c = np.array([[1.0, 0.999, 0.3], [0.999, 1.0, 0.31], [0.3, 0.31, 1.0]])
    >>> d = cknna_to_distance(c)
    >>> bool(d[0, 1] < 0.01 < d[0, 2]), float(d[0, 0])
    (True, 0.0)
    >>> round(float(cknna_to_distance(np.array([[1, .5], [.5, 1]]), form="pair")[0, 1]), 3)
    0.558
    """
    if form not in JSD_FORMS:
        raise ValidationError(f"unknown sqrt(JSD) form {form!r}; choose from {JSD_FORMS}")
    c, _, da = _square(matrix, metric)
    if not np.isfinite(c).all():
        raise ValidationError("CKNNA matrix has NaN or infinite entries")
    c = 0.5 * (c + c.T)
    c = np.clip(c, 0.0, 1.0)
    np.fill_diagonal(c, 1.0)
    if form == "rows":
        d = np.sqrt(jsd(c[:, None, :], c[None, :, :]))
    else:
        ones = np.stack([np.ones_like(c), np.zeros_like(c)], axis=-1)
        bern = np.stack([c, 1.0 - c], axis=-1)
        d = np.sqrt(jsd(ones, bern))
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    if da is None:
        return d
    out = da.copy(data=d)
    out.name = "distance"
    out.attrs = {**da.attrs, "distance": f"sqrt_jsd_{form}", "from_metric": metric}
    return out


# --------------------------------------------------------------------------- trees
@dataclass
class Tree:
    """A rooted tree: leaves have a ``name``; every node has the ``length`` of the branch
    above it."""

    name: str | None = None
    length: float = 0.0
    children: list[Tree] = field(default_factory=list)

    def is_leaf(self) -> bool:
        return not self.children

    def leaves(self) -> list[str]:
        """Leaf names, left to right."""
        if self.is_leaf():
            return [str(self.name)]
        return [n for c in self.children for n in c.leaves()]

    def newick(self, digits: int = 4) -> str:
        """Newick string with branch lengths rounded to ``digits``."""

        def fmt(x: float) -> str:
            return f"{round(x, digits):g}"

        def rec(node: Tree) -> str:
            if node.is_leaf():
                return str(node.name)
            inner = ",".join(f"{rec(c)}:{fmt(c.length)}" for c in node.children)
            return f"({inner})"

        return rec(self) + ";"

    def path_length(self, a: str, b: str) -> float:
        """Sum of branch lengths on the path between leaves ``a`` and ``b``."""
        depth: dict[str, tuple[float, list[int]]] = {}

        def rec(node: Tree, d: float, path: list[int]) -> None:
            if node.is_leaf():
                depth[str(node.name)] = (d, path)
            for i, c in enumerate(node.children):
                rec(c, d + c.length, [*path, i])

        rec(self, 0.0, [])
        (da, pa), (db, pb) = depth[a], depth[b]
        common = 0
        while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
            common += 1
        node = self
        dc = 0.0
        for i in pa[:common]:
            node = node.children[i]
            dc += node.length
        return float(da + db - 2 * dc)


def _check_distance(d: Any, labels: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    arr, names, _ = _square(d, metric="distance")
    labels = list(labels) if labels is not None else names
    if labels is None:
        labels = [str(i) for i in range(arr.shape[0])]
    if len(labels) != arr.shape[0]:
        raise ValidationError(f"{len(labels)} labels for a {arr.shape[0]}×{arr.shape[0]} matrix")
    if arr.shape[0] < 2:
        raise ValidationError("a tree needs at least two models")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValidationError("distances must be finite and non-negative")
    return 0.5 * (arr + arr.T), [str(x) for x in labels]


def neighbour_joining(distances: Any, labels: Sequence[str] | None = None) -> Tree:
    """Neighbour-joining tree (Saitou & Nei, Mol. Biol. Evol. 4:406, 1987).

    At each step join the pair minimising ``Q_ij = (n − 2) d_ij − R_i − R_j`` (``R`` = row
    sums), give them branch lengths ``½ d_ij ± (R_i − R_j) / (2(n − 2))`` (negative lengths
    are set to 0), and replace them by a node at distances ``½ (d_ik + d_jk − d_ij)``. Exact
    for additive (tree) metrics. The unrooted result is rooted at the last join. O(M³).

    Args:
        distances: ``(M, M)`` symmetric distances (array or DataArray with model coords).
        labels: leaf names (default: the DataArray's model coordinate, else ``"0"…``).

    Returns:
        :class:`Tree`.
    """
    d, names = _check_distance(distances, labels)
    nodes: list[Tree] = [Tree(name=n) for n in names]
    d = d.copy()
    while len(nodes) > 2:
        n = len(nodes)
        r = d.sum(axis=1)
        q = (n - 2) * d - r[:, None] - r[None, :]
        np.fill_diagonal(q, np.inf)
        i, j = np.unravel_index(int(np.argmin(q)), q.shape)
        i, j = min(i, j), max(i, j)
        li = 0.5 * d[i, j] + (r[i] - r[j]) / (2 * (n - 2))
        lj = d[i, j] - li
        nodes[i].length, nodes[j].length = max(li, 0.0), max(lj, 0.0)
        new = Tree(children=[nodes[i], nodes[j]])
        dk = 0.5 * (d[i] + d[j] - d[i, j])
        keep = [k for k in range(n) if k not in (i, j)]
        d = np.vstack([np.hstack([d[np.ix_(keep, keep)], dk[keep, None]]),
                       np.hstack([dk[keep], [0.0]])])
        nodes = [nodes[k] for k in keep] + [new]
    a, b = nodes  # b is the most recent join (or a leaf when M == 2)
    if b.is_leaf():
        a.length = b.length = d[0, 1] / 2
    else:
        a.length, b.length = d[0, 1], 0.0
    return Tree(children=[a, b])


def average_linkage(distances: Any, labels: Sequence[str] | None = None) -> Tree:
    """Average-linkage (UPGMA) tree: repeatedly merge the two clusters with the smallest
    mean pairwise distance; a merge at height ``h`` puts its children ``h − h_child`` below
    (an ultrametric tree, leaf-to-leaf path = twice the merge height). SciPy's ``linkage``,
    O(M²).

    >>> import numpy as np
    >>> t = average_linkage(np.array([[0, 2, 6], [2, 0, 6], [6, 6, 0]]), ["a", "b", "c"])
    >>> t.newick()
    '(c:3,(a:1,b:1):2);'
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    d, names = _check_distance(distances, labels)
    z = linkage(squareform(d, checks=False), method="average")
    nodes: list[Tree] = [Tree(name=n) for n in names]
    heights = [0.0] * len(names)
    for a, b, h, _ in z:
        a, b = int(a), int(b)
        ca, cb = nodes[a], nodes[b]
        ca.length, cb.length = h / 2 - heights[a], h / 2 - heights[b]
        nodes.append(Tree(children=[ca, cb]))
        heights.append(h / 2)
    return nodes[-1]


def cluster_order(matrix: Any, *, similarity: bool = True) -> list[int]:
    """Row order from average-linkage clustering (leaf order of the dendrogram, optimal
    ordering), for heatmaps. ``similarity=True`` clusters on ``1 − S``. O(M³).

    >>> import numpy as np
    >>> s = np.array([[1, .1, .9], [.1, 1, .2], [.9, .2, 1]])
    >>> cluster_order(s)
    [1, 2, 0]
    """
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    arr, _, _ = _square(matrix, metric="cknna")
    if arr.shape[0] < 3:
        return list(range(arr.shape[0]))
    arr = np.nan_to_num(0.5 * (arr + arr.T), nan=0.0)
    d = 1.0 - arr if similarity else arr
    d = np.clip(d, 0, None)
    np.fill_diagonal(d, 0.0)
    y = squareform(d, checks=False)
    z = optimal_leaf_ordering(linkage(y, method="average"), y)
    return [int(i) for i in leaves_list(z)]


def draw_tree(
    tree: Tree,
    ax: Any = None,
    *,
    colour: Mapping[str, Any] | Callable[[str], Any] | None = None,
    marker: Mapping[str, str] | Callable[[str], str] | None = None,
    label_size: float = 7.0,
    title: str | None = None,
    xlabel: str = "distance (sqrt JSD)",
) -> Any:
    """Draw ``tree`` as a rectangular phylogram on a matplotlib axis.

    Args:
        tree: a :class:`Tree`.
        ax: axis (a new figure when None).
        colour, marker: per-leaf colour and marker (mapping or function of the leaf name).
        label_size: leaf label font size.
        title, xlabel: axis texts.

    Returns:
        The axis. Leaf markers carry ``gid`` = leaf name (for tests and SVG inspection).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.25 * len(tree.leaves()) + 1))

    def get(spec: Any, name: str, default: Any) -> Any:
        if spec is None:
            return default
        return spec(name) if callable(spec) else spec.get(name, default)

    y_of: dict[int, float] = {}
    counter = [0]

    def layout(node: Tree, x0: float) -> float:
        x = x0 + node.length
        if node.is_leaf():
            y = float(counter[0])
            counter[0] += 1
            ax.plot([x0, x], [y, y], color="0.3", lw=1)
            ax.scatter([x], [y], s=40, color=get(colour, str(node.name), "0.2"),
                       marker=get(marker, str(node.name), "o"), zorder=3, edgecolor="k",
                       linewidth=0.4, gid=str(node.name))
            ax.text(x, y, f"  {node.name}", va="center", fontsize=label_size)
        else:
            ys = [layout(c, x) for c in node.children]
            y = float(np.mean([min(ys), max(ys)]))
            ax.plot([x, x], [min(ys), max(ys)], color="0.3", lw=1)
            ax.plot([x0, x], [y, y], color="0.3", lw=1)
        y_of[id(node)] = y
        return y

    layout(tree, 0.0)
    ax.set_yticks([])
    ax.invert_yaxis()
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel)
    xmax = ax.get_xlim()[1]
    ax.set_xlim(0, xmax * 1.45)
    if title:
        ax.set_title(title)
    return ax


def distance_summary(distances: Any) -> dict[str, float]:
    """Min, median, mean and max of the off-diagonal distances (i < j).

    >>> import numpy as np
    >>> distance_summary(np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]]))
    {'min': 1.0, 'median': 2.0, 'mean': 2.0, 'max': 3.0}
    """
    arr, _, _ = _square(distances, metric="distance")
    v = arr[np.triu_indices(arr.shape[0], 1)]
    return {"min": float(v.min()), "median": float(np.median(v)), "mean": float(v.mean()),
            "max": float(v.max())}


def build_tree(distances: Any, method: str = "average") -> Tree:
    """:func:`average_linkage` (``"average"``) or :func:`neighbour_joining` (``"nj"``)."""
    if method in ("average", "upgma"):
        return average_linkage(distances)
    if method in ("nj", "neighbour_joining", "neighbor_joining"):
        return neighbour_joining(distances)
    raise ValidationError(f"unknown tree method {method!r}; use 'average' or 'nj'")


def leaf_values(distances: xr.DataArray, key: str) -> list[str]:
    """The metadata ``key`` of each model of a ``(model_a, model_b)`` DataArray as strings,
    missing values as ``"unknown"``."""
    c = f"{key}_a"
    n = distances.sizes["model_a"]
    vals = distances[c].values if c in distances.coords else [""] * n
    return [str(v) if str(v) not in ("", "nan", "None") else "unknown" for v in vals]


def draw_model_tree(
    distances: xr.DataArray,
    ax: Any = None,
    *,
    method: str = "average",
    colour_by: str = "training_data",
    marker_by: str = "architecture",
    colours: Mapping[str, Any] | None = None,
    markers: Mapping[str, str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    legend: bool = True,
) -> tuple[Any, Tree]:
    """Tree of the models of a ``(model_a, model_b)`` distance DataArray, leaves coloured by
    metadata ``colour_by`` and shaped by ``marker_by`` (missing values shown as
    ``"unknown"``), with a legend. Pass ``colours``/``markers`` (e.g. from
    :func:`~matteralign.analysis.plotting.colours_for` over several matrices) to keep them
    the same across panels. Returns ``(axis, tree)``."""
    from matteralign.analysis.plotting import category_legend, colours_for, markers_for

    names = [str(v) for v in distances["model_a"].values]
    cvals, mvals = leaf_values(distances, colour_by), leaf_values(distances, marker_by)
    colours = dict(colours) if colours is not None else colours_for(cvals)
    markers = dict(markers) if markers is not None else markers_for(mvals)
    tree = build_tree(distances, method)
    if xlabel is None:
        xlabel = ("branch length (leaf-to-leaf path = mean sqrt(JSD) distance)"
                  if method in ("average", "upgma") else "branch length, sqrt(JSD) of CKNNA")
    ax = draw_tree(tree, ax, colour={n: colours.get(c, "0.5") for n, c in zip(names, cvals)},
                   marker={n: markers.get(m, "o") for n, m in zip(names, mvals)}, title=title,
                   xlabel=xlabel)
    if legend:
        category_legend(ax, colours, markers, colour_title=colour_by.replace("_", " "),
                        marker_title=marker_by.replace("_", " "), loc="lower left",
                        bbox=(0.0, 1.02 if title is None else 1.05))
    return ax, tree
