"""Write notebooks/*.ipynb from the cell sources below (run: python scripts/build_notebooks.py).

The notebooks are generated so that they stay thin, consistent and reviewable: each has a
title, a cell tagged ``parameters`` (papermill), a setup cell, calls into ``matteralign``
(no function definitions), figures written by ``plotting.save_figure`` (PNG + SVG) and
netCDF results in ``output_dir``, and a final conclusion cell that displays Markdown computed
by ``matteralign.analysis.conclusions``. Outputs are not stored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]

SETUP = """\
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matteralign import io
from matteralign.analysis import compute, conclusions, grouping, paths, plotting, published, trees, trends

plotting.use_style()
out = paths.figures_dir(output_dir)
print("writing to", out)"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(src: str):
    return new_code_cell(src.strip())


def params(src: str):
    cell = new_code_cell(src.strip())
    cell.metadata["tags"] = ["parameters"]
    return cell


# ----------------------------------------------------------------------------- 01
NB01 = [
    md("""
# 01 — Cross-modality alignment on QM9

**Claim (paper, claim 1).** String, graph and 3D models trained on different data align
strongly on small molecules; SMILES models and 3D models agree on which molecules are similar.

**What this notebook does.** Embeds the same QM9 molecules with every offline model of each
modality available here — SMILES/2D descriptors (Morgan fingerprints, RDKit 2D), 3D MLIPs
(CHGNet, SevenNet), 3D descriptors (SOAP, ACSF, MBTR, Coulomb eigenvalues) and a random-weights
twin as a floor — and computes CKNNA (k neighbours) and distance correlation between every
pair. Heatmaps are ordered by average-linkage clustering; tick labels are coloured by modality
and input representation (`kind`: SMILES-based 2D descriptors, 3D descriptors, 3D MLIPs,
random-weights MLIPs). No string or graph *network* runs offline here; the SMILES-derived
fingerprints and RDKit descriptors stand in for the 2D modality (registry names of
downloadable string models can be added to `models`).
"""),
    params("""
dataset = "qm9"
models = ["morgan", "rdkit-2d", "chgnet-0.3.0", "sevennet-0", "soap", "acsf", "mbtr",
          "coulomb-eigen", "chgnet-0.3.0-random"]
k = 25
n_samples = 500
seed = 0
device = "cpu"
output_dir = "figures/01_cross_modality_qm9"
"""),
    code(SETUP),
    md("## Embeddings and alignment (cached under `data/embeddings` and `data/cache`)"),
    code("""
collection, skipped = compute.embed_models(models, dataset, n_samples=n_samples, seed=seed,
                                           device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
names = list(collection.data_vars)
tensor = compute.cached_alignment(collection, metrics=("cknna", "dcor"), k=k,
                                  metadata=compute.model_metadata(names))
io.save(tensor, out / "alignment.nc")
tensor.sel(metric="cknna").to_pandas().round(3)
"""),
    md("## Heatmaps, ordered by hierarchical clustering of CKNNA"),
    code("""
order = trees.cluster_order(tensor.sel(metric="cknna"))
for metric in ("cknna", "dcor"):
    fig, ax = plt.subplots(figsize=(9, 7.5))
    plotting.alignment_heatmap(tensor, metric, ax=ax, order=order, annotate="kind", vmin=0, vmax=1,
                               title=f"{plotting.METRIC_LABELS[metric]} on {dataset} "
                                     f"(N = {tensor.attrs['n_samples']}, k = {k})")
    plotting.save_figure(fig, out, f"heatmap_{metric}")
    plt.show()
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
conclusions.publish(conclusions.cross_modality_conclusion(tensor, metrics=("cknna", "dcor"),
                                                         modality="kind"), out)
"""),
]

# ----------------------------------------------------------------------------- 02
NB02 = [
    md("""
# 02 — Similarity tree of models (Fig. 1F)

**Claim (paper, claim 2).** Distances between models — sqrt(JSD) transforms of CKNNA at
k = 25 — give trees in which models cluster by **training dataset more than by architecture**.

**Distance used here.** The paper's exact transform (appendix eqs A9–A12) is not available.
`trees.cknna_to_distance(form="rows")` describes each model by its CKNNA profile against all
models, `P_i(j) = c⁺_ij / Σ_l c⁺_il`, and takes `d_ij = sqrt(JSD₂(P_i, P_j))`; the
alternative `form="pair"` uses `sqrt(JSD₂(Bern(1), Bern(c_ij)))`. Both are computed on our
models below and set beside the published scale.

**What this notebook does.**
1. Draws the published distance matrices of all four datasets (OMat24, OMol25, QM9, sAlex;
   `data/published/`) as trees, leaves coloured by training data and shaped by architecture
   class.
2. Tests the claim formally: a permutation test of each grouping (family, training corpus,
   training data) on each distance matrix with its effect size (PERMANOVA R²), and
   stratified tests that permute training-corpus labels *within* families (and family labels
   within corpora), because family and corpus are entangled in this set of models.
3. Recomputes CKNNA for the offline MLIPs here and draws their tree side by side with the
   published one.
"""),
    params("""
dataset = "mptrj-random"
models = ["chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan", "sevennet-0", "sevennet-0-22may2024",
          "sevennet-l3i5", "sevennet-mf-0", "chgnet-0.3.0-random", "sevennet-0-random"]
k = 25
n_samples = 200
seed = 0
device = "cpu"
output_dir = "figures/02_similarity_tree"
published_datasets = ["omat24", "omol25", "qm9", "salex"]
tree_method = "average"
jsd_form = "rows"
n_permutations = 9999
"""),
    code(SETUP),
    md("## 1. Published distances as trees"),
    code("""
pub = {name: published.load_published(name).sel(metric=published.PUBLISHED_METRIC)
       for name in published_datasets}
colours = plotting.colours_for(sum((trees.leaf_values(d, "training_data") for d in pub.values()), []))
markers = plotting.markers_for(sum((trees.leaf_values(d, "architecture") for d in pub.values()), []))
fig, axes = plt.subplots(1, len(pub), figsize=(6.5 * len(pub), 10), squeeze=False)
for ax, (name, d) in zip(axes[0], pub.items()):
    trees.draw_model_tree(d, ax, method=tree_method, colours=colours, markers=markers,
                          title=f"published, {d.attrs['dataset']}", legend=ax is axes[0][0])
fig.tight_layout()
plotting.save_figure(fig, out, "published_trees")
plt.show()
"""),
    md("## 2. Does family or training data separate the models? Permutation tests"),
    code("""
tables = {name: grouping.compare_groupings(
              published.load_published(name), groupings=("family", "corpus", "training_data"),
              stratified=[("corpus", "family"), ("family", "corpus")],
              n_permutations=n_permutations, seed=seed)
          for name in published_datasets}
table = pd.concat(tables, names=["dataset", "test"])
paths.save_table(table, out / "grouping_tests.csv")
table[["grouping", "stratified_by", "mean_within", "mean_across", "statistic", "z", "r2",
       "p_value"]].round(4)
"""),
    md("## 3. Our models: recomputed CKNNA → sqrt(JSD) distances → tree"),
    code("""
collection, skipped = compute.embed_models(models, dataset, n_samples=n_samples, seed=seed,
                                           device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
names = list(collection.data_vars)
tensor = compute.cached_alignment(collection, metrics=("cknna",), k=k,
                                  metadata=compute.model_metadata(names))
ours = trees.cknna_to_distance(tensor, form=jsd_form)
io.save(tensor, out / "alignment.nc")
io.save(ours, out / "distances.nc")
scale = pd.DataFrame({f"ours ({form})": trees.distance_summary(trees.cknna_to_distance(tensor, form=form))
                      for form in trees.JSD_FORMS}
                     | {f"published {n}": trees.distance_summary(d) for n, d in pub.items()}).T
paths.save_table(scale, out / "distance_scale.csv")
scale.round(4)
"""),
    code("""
reference = published_datasets[0]
fig, axes = plt.subplots(1, 2, figsize=(14, 10))
trees.draw_model_tree(ours, axes[0], method=tree_method,
                      title=f"recomputed here: {dataset}, N = {tensor.attrs['n_samples']}, k = {k}")
trees.draw_model_tree(pub[reference], axes[1], method=tree_method,
                      title=f"published: {pub[reference].attrs['dataset']}")
fig.tight_layout()
plotting.save_figure(fig, out, "tree_ours_vs_published")
plt.show()
fig, ax = plt.subplots(figsize=(8, 7))
plotting.alignment_heatmap(ours, "distance", ax=ax, order=trees.cluster_order(ours, similarity=False),
                           annotate="training_data", cmap="magma_r",
                           title=f"sqrt(JSD) of CKNNA ({jsd_form} form) between our models")
plotting.save_figure(fig, out, "distance_heatmap_ours")
plt.show()
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
ours_tests = grouping.compare_groupings(ours, groupings=("family", "training_data"),
                                        n_permutations=n_permutations, seed=seed)
paths.save_table(ours_tests, out / "grouping_tests_ours.csv")
gap = (scale.loc[[f"ours ({f})" for f in trees.JSD_FORMS], "median"]
       - scale.loc[f"published {reference}", "median"]).abs()
closest = gap.idxmin().removeprefix("ours (").removesuffix(")")
text = (conclusions.grouping_conclusion(tables, family="family", training="corpus")
        + "\\n\\n**Our models** (" + dataset + "): "
        + " ".join(conclusions.grouping_sentence(r) for _, r in ours_tests.iterrows())
        + "\\n\\n" + conclusions.scale_sentence(trees.distance_summary(ours),
                                               trees.distance_summary(pub[reference]))
        + f" Of the two sqrt(JSD) forms, the **{closest}** form puts our median distance closest "
          f"to the published {reference} median (this notebook draws the {jsd_form} form).")
conclusions.publish(text, out)
"""),
]

# ----------------------------------------------------------------------------- 03
NB03 = [
    md("""
# 03 — Alignment vs performance

**Claim (paper, claim 3).** Among MLIPs, the lower a model's energy error, the higher its
CKNNA to the strongest model.

**What this notebook does.** For the offline MLIPs it *measures* each model's errors against
the DFT labels of the same structures whose embeddings are aligned (`analysis.performance`):
energy MAE per atom (raw, and after a cross-validated refit of per-element reference
energies, which removes offsets from energy-correction schemes and functionals — the shipped
MPtrj labels are uncorrected DFT energies, CHGNet predicts MP2020-corrected ones, CHGNet-r2SCAN
predicts r2SCAN energies) and force MAE (eV/Å, free of such offsets). The strongest model is
the one with the lowest force MAE unless `reference` names one. Every other model's CKNNA to
it is plotted against each error with a least-squares trend, a bootstrap confidence band and
Spearman's rank correlation with its p-value. With few models the test has little power: read
the band and the p-value, not just the line.

Predictions are real forward passes of each model (CHGNet batched through
`CHGNet.predict_structure`, SevenNet through its ASE calculator, torch on one thread — much
faster than two on this 2-core machine), cached under `data/cache/predictions`, so a second run
recomputes nothing.
"""),
    params("""
dataset = "mptrj-random"
models = ["chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan", "sevennet-0", "sevennet-0-22may2024",
          "sevennet-l3i5", "sevennet-mf-0"]
reference = "auto"
k = 25
n_samples = 200
seed = 0
device = "cpu"
n_boot = 2000
output_dir = "figures/03_alignment_vs_performance"
"""),
    code(SETUP + """
from matteralign import metrics
from matteralign.analysis import performance"""),
    md("## Measured errors against DFT labels"),
    code("""
data = compute.load_dataset(dataset, n_samples, seed)
errors = performance.errors(models, data, device=device)
strongest = errors["force_mae_ev_per_A"].idxmin() if reference == "auto" else reference
paths.save_table(errors, out / "errors.csv")
print("reference (strongest) model:", strongest)
errors.round(4)
"""),
    md("## CKNNA of every model to the reference"),
    code("""
collection, skipped = compute.embed_models(models, data, device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
names = list(collection.data_vars)
tensor = compute.cached_alignment(collection, metrics=("cknna",), k=k,
                                  metadata=compute.model_metadata(names))
io.save(tensor, out / "alignment.nc")
to_ref = metrics.align_to_reference(tensor, strongest).sel(metric="cknna").to_series()
table = errors.join(to_ref.rename("cknna_to_reference")).drop(index=strongest)
table["training_data"] = [compute.model_metadata([m])[m].get("training_data", "") for m in table.index]
paths.save_table(table, out / "alignment_vs_error.csv")
table.round(4)
"""),
    md("## Trend, bootstrap band, rank correlation"),
    code("""
fits = {}
measures = {"energy_mae_ev_per_atom": ("energy MAE, raw", "eV/atom"),
            "energy_mae_refit_ev_per_atom": ("energy MAE, per-element refit", "eV/atom"),
            "force_mae_ev_per_A": ("force MAE", "eV/Å")}
for column, (label, unit) in measures.items():
    if table[column].notna().sum() < 3:
        continue
    fits[label] = trends.fit_trend(table[column], table["cknna_to_reference"], n_boot=n_boot, seed=seed)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    plotting.trend_plot(fits[label], table[column], table["cknna_to_reference"], labels=table.index,
                        hue=table["training_data"], ax=ax, hue_title="training data",
                        xlabel=f"{label} vs DFT ({unit})",
                        ylabel=f"CKNNA to {strongest} (k = {k}, unitless)",
                        title=f"Alignment vs measured error on {dataset} (N = {len(data)})")
    plotting.save_figure(fig, out, "cknna_vs_" + column.replace("_ev_per_atom", "").replace("_ev_per_A", ""))
    plt.show()
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
units = dict(measures.values())
text = "\\n\\n".join(conclusions.trend_conclusion(fit, reference=strongest, error_name=label,
                                                 unit=units[label])
                     for label, fit in fits.items())
conclusions.publish(text or "Fewer than three models ran: no trend estimated (0 fits).", out)
"""),
]

# ----------------------------------------------------------------------------- 04
NB04 = [
    md("""
# 04 — In vs out of distribution

**Claim (paper, claim 4).** In distribution, strong models align closely and weak ones drift;
far out of distribution (large organic molecules for materials MLIPs) nearly all models
collapse onto a low-information representation: high mutual alignment, lower intrinsic
dimension, and information imbalances Δ(A→ref), Δ(ref→A) both near zero.

**What this notebook does.** Embeds the same models on three regimes — near-equilibrium
materials, off-equilibrium materials and large organic molecules — and compares per regime
the distributions of pairwise CKNNA and distance correlation, the intrinsic dimension of
each model (TwoNN by default) and the information-imbalance plane against a reference model.
"""),
    params("""
dataset = "mptrj-random"
off_equilibrium_dataset = "mptrj-highest-stress"
out_of_distribution_dataset = "nci-organics"
models = ["chgnet-0.3.0", "chgnet-r2scan", "sevennet-0", "sevennet-l3i5", "sevennet-mf-0",
          "chgnet-0.3.0-random"]
reference = "sevennet-l3i5"
k = 25
n_samples = 200
seed = 0
device = "cpu"
id_methods = ["twonn"]
output_dir = "figures/04_in_vs_out_of_distribution"
"""),
    code(SETUP + """
from matteralign.analysis import robustness"""),
    md("## Alignment per regime"),
    code("""
regimes = {"near-equilibrium": dataset, "off-equilibrium": off_equilibrium_dataset,
           "organic molecules": out_of_distribution_dataset}
pairs, ids, planes, skipped_all = [], [], [], {}
for regime, name in regimes.items():
    collection, skipped = compute.embed_models(models, name, n_samples=n_samples, seed=seed, device=device)
    skipped_all.update(skipped)
    names = list(collection.data_vars)
    tensor = compute.cached_alignment(collection, metrics=("cknna", "dcor", "info_imbalance"), k=k,
                                      metadata=compute.model_metadata(names))
    io.save(tensor, out / f"alignment_{name}.nc")
    pairs.append(robustness.pair_values(tensor, ["cknna", "dcor"]).assign(regime=regime, dataset=name))
    ids.append(robustness.model_intrinsic_dimension(collection, id_methods).assign(regime=regime))
    planes.append(robustness.delta_plane(tensor, reference).assign(regime=regime))
pairs, ids, planes = pd.concat(pairs), pd.concat(ids), pd.concat(planes)
for frame, stem in ((pairs, "pair_alignment"), (ids, "intrinsic_dimension"), (planes, "delta_plane")):
    paths.save_table(frame, out / f"{stem}.csv")
display(Markdown(conclusions.missing_weights_note(skipped_all) or "All models ran."))
pairs.groupby(["regime", "metric"])["value"].describe().round(3)
"""),
    md("## Distributions of CKNNA and distance correlation"),
    code("""
import seaborn as sns
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for ax, metric in zip(axes, ("cknna", "dcor")):
    sns.boxplot(data=pairs[pairs.metric == metric], x="regime", y="value", ax=ax, color="0.85")
    sns.stripplot(data=pairs[pairs.metric == metric], x="regime", y="value", ax=ax, size=4, color="k")
    ax.set(title=f"{plotting.METRIC_LABELS[metric]} between model pairs", xlabel="",
           ylabel=f"{plotting.METRIC_LABELS[metric]} (unitless)")
plotting.save_figure(fig, out, "alignment_distributions")
plt.show()
"""),
    md("## Intrinsic dimension per model"),
    code("""
fig, ax = plt.subplots(figsize=(9, 4.5))
sns.barplot(data=ids, x="model", y="intrinsic_dimension", hue="regime", ax=ax)
ax.set(xlabel="", ylabel=f"intrinsic dimension ({', '.join(id_methods)})",
       title="Intrinsic dimension of each model's embeddings per regime")
ax.tick_params(axis="x", rotation=45)
plotting.save_figure(fig, out, "intrinsic_dimension")
plt.show()
"""),
    md("## Information-imbalance plane against the reference model"),
    code("""
fig, ax = plt.subplots(figsize=(6, 5.5))
sns.scatterplot(data=planes, x="delta_to_ref", y="delta_from_ref", hue="regime", style="regime", s=70, ax=ax)
ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
ax.set(xlim=(0, 1.05), ylim=(0, 1.05), xlabel=f"Δ(A → {reference}) (unitless)",
       ylabel=f"Δ({reference} → A) (unitless)", title="Information imbalance plane")
plotting.save_figure(fig, out, "delta_plane")
plt.show()
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
summary = pairs.pivot_table(index=["regime", "model_a", "model_b"], columns="metric", values="value").reset_index()
text = "\\n\\n".join([
    conclusions.distribution_conclusion(summary, value="cknna", group="regime",
                                        label=f"CKNNA (k = {k}) over model pairs"),
    conclusions.distribution_conclusion(summary, value="dcor", group="regime",
                                        label="distance correlation over model pairs"),
    conclusions.distribution_conclusion(ids, value="intrinsic_dimension", group="regime",
                                        label=f"intrinsic dimension ({', '.join(id_methods)}) over models"),
    conclusions.distribution_conclusion(planes.assign(delta_sum=planes.delta_to_ref + planes.delta_from_ref),
                                        value="delta_sum", group="regime",
                                        label=f"information imbalance Δ(A→{reference}) + Δ({reference}→A)")
    + " A sum near 0 means mutually predictive neighbourhoods."])
conclusions.publish(text, out)
"""),
]

# ----------------------------------------------------------------------------- 05
NB05 = [
    md("""
# 05 — Robustness of the conclusions

How much does CKNNA depend on the analyst's choices? This notebook varies one choice at a time
on one dataset: the neighbourhood size **k** (5…100), the **number of samples** (where does
the estimate stabilise? repeated random subsets give the band), the **pooling** of atom
features into a structure vector (mean, sum, cumulants = mean ⊕ variance) and the **layer**
read out of each model. Pooling and layer sweeps re-embed the structures once per setting
(`pooling_models`, `layer_models` keep them affordable on a CPU; equivariant `-irreps`
layers are left out of the layer sweep).
"""),
    params("""
dataset = "mptrj-random"
models = ["chgnet-0.3.0", "sevennet-0", "sevennet-l3i5", "soap"]
k = 25
ks = [5, 10, 25, 50, 100]
sample_sizes = [50, 100, 150, 200]
n_samples = 200
n_repeats = 5
poolings = ["mean", "sum", "cumulants"]
pooling_models = ["chgnet-0.3.0", "chgnet-0.2.0", "sevennet-0"]
layer_models = ["chgnet-0.3.0"]
reference = "sevennet-l3i5"
tolerance = 0.02
seed = 0
device = "cpu"
output_dir = "figures/05_robustness"
"""),
    code(SETUP + """
import seaborn as sns
from matteralign import metrics, models as registry
from matteralign.analysis import robustness"""),
    code("""
data = compute.load_dataset(dataset, n_samples, seed)
collection, skipped = compute.embed_models(models, data, device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
tensor = compute.cached_alignment(collection, metrics=("cknna",), k=k)
io.save(tensor, out / "alignment.nc")
"""),
    md("## CKNNA vs k"),
    code("""
by_k = robustness.sweep_k(collection, ks)
by_k["pair"] = by_k.model_a + " – " + by_k.model_b
paths.save_table(by_k, out / "cknna_vs_k.csv")
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.lineplot(data=by_k, x="k", y="value", hue="pair", marker="o", ax=ax)
ax.set(xscale="log", xlabel="k (neighbours)", ylabel="CKNNA (unitless)", title=f"CKNNA vs k on {dataset}")
ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
plotting.save_figure(fig, out, "cknna_vs_k")
plt.show()
"""),
    md("## CKNNA vs number of samples (repeated random subsets)"),
    code("""
by_n = robustness.sweep_samples(collection, sample_sizes, k=min(k, min(sample_sizes) - 1),
                                n_repeats=n_repeats, seed=seed)
by_n["pair"] = by_n.model_a + " – " + by_n.model_b
paths.save_table(by_n, out / "cknna_vs_samples.csv")
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.lineplot(data=by_n, x="n", y="value", hue="pair", marker="o", errorbar=("pi", 90), ax=ax)
ax.set(xscale="log", xlabel="number of samples N", ylabel="CKNNA (unitless)",
       title=f"CKNNA vs N on {dataset} ({n_repeats} random subsets per N; band = 90% interval)")
ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
plotting.save_figure(fig, out, "cknna_vs_samples")
plt.show()
stable = robustness.stabilisation_table(by_n, tolerance=tolerance)
paths.save_table(stable, out / "stabilisation.csv")
means = stable.drop(columns="stabilises_at_n")
stable.round(3)
"""),
    md("## CKNNA vs pooling"),
    code("""
by_pool = []
for pooling in poolings:
    coll, _ = compute.embed_models(pooling_models, data, pooling=pooling, device=device)
    t = compute.cached_alignment(coll, metrics=("cknna",), k=k)
    by_pool.append(robustness.pair_values(t, ["cknna"]).assign(pooling=pooling))
by_pool = pd.concat(by_pool)
by_pool["pair"] = by_pool.model_a + " – " + by_pool.model_b
paths.save_table(by_pool, out / "cknna_vs_pooling.csv")
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.barplot(data=by_pool, x="pair", y="value", hue="pooling", ax=ax)
ax.set(xlabel="", ylabel=f"CKNNA (k = {k}, unitless)", title="CKNNA vs pooling of atom features")
ax.tick_params(axis="x", rotation=30)
plotting.save_figure(fig, out, "cknna_vs_pooling")
plt.show()
"""),
    md("## CKNNA vs layer (each layer of a model against the reference's last layer)"),
    code("""
ref_emb = collection[reference] if reference in collection else compute.embed_models([reference], data)[0][reference]
by_layer = []
for name in layer_models:
    layers = [layer for layer in registry.get(name).info.layers if layer != "last" and "irreps" not in layer]
    for depth, layer in enumerate(layers):
        coll, _ = compute.embed_models([name], data, layer=layer, device=device)
        value = metrics.cknna(coll[name], ref_emb, k=k)
        by_layer.append({"model": name, "layer": layer, "depth": depth, "cknna_to_reference": value})
by_layer = pd.DataFrame(by_layer)
paths.save_table(by_layer, out / "cknna_vs_layer.csv")
fig, ax = plt.subplots(figsize=(8, 4.5))
sns.lineplot(data=by_layer, x="depth", y="cknna_to_reference", hue="model", marker="o", ax=ax)
ax.set(xlabel="layer index (0 = input embedding)", ylabel=f"CKNNA to {reference} (unitless)",
       title="CKNNA vs layer")
plotting.save_figure(fig, out, "cknna_vs_layer")
plt.show()
by_layer.round(3)
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
ranges = {"k": (by_k.groupby("k")["value"].mean().min(), by_k.groupby("k")["value"].mean().max()),
          "number of samples": (means.mean().min(), means.mean().max()),
          "pooling": (by_pool.groupby("pooling")["value"].mean().min(),
                      by_pool.groupby("pooling")["value"].mean().max()),
          "layer": (by_layer["cknna_to_reference"].min(), by_layer["cknna_to_reference"].max())}
text = ("Mean CKNNA over model pairs as one choice varies:\\n\\n" + conclusions.robustness_conclusion(ranges)
        + "\\n\\n" + conclusions.stabilisation_sentence(
            means.columns, means.mean().values, tolerance=tolerance,
            what=f"The mean CKNNA over model pairs (k = {min(k, min(sample_sizes) - 1)})",
            per_group=stable["stabilises_at_n"].values, group_name="model pairs"))
conclusions.publish(text, out)
"""),
]

# ----------------------------------------------------------------------------- 06
NB06 = [
    md("""
# 06 — Proteins: sequence vs structure models

**Claim (paper, claim 5).** Protein sequence models (ESM2, ESM3, ESMC, ProstT5) align with
structure models (ESM-IF, ProteinMPNN) about twice as strongly as small-molecule models
align with each other.

`models` lists every protein model to compare; those also named in `structure_models`
read structures, the others sequences.

**Runs when weights are present.** The protein models' weights are not shipped. The first
output below lists, for every protein model, whether its weights are here and, if not, what
to download and where to put it (the model registry's own messages). Without weights the
notebook writes a status figure and `status.md` and ends with a conclusion that says so; it
still exits normally so that `make reproduce` counts it as done.
"""),
    params("""
dataset = "peptides"
models = ["esm2-t6-8m", "esm2-t33-650m", "prostt5", "esm-if1", "proteinmpnn"]
structure_models = ["esm-if1", "proteinmpnn"]
k = 25
n_samples = 150
seed = 0
device = "cpu"
small_molecule_reference = "figures/01_cross_modality_qm9/alignment.nc"
output_dir = "figures/06_proteins"
"""),
    code(SETUP + """
from matteralign import models as registry
from matteralign.analysis import robustness"""),
    md("## Which protein models can run here?"),
    code("""
status = registry.available()
wanted = list(models)
sequence_models = [m for m in wanted if m not in structure_models]
table = status.reindex(wanted)[["modality", "family", "weights_here", "status"]]
table["weights_here"] = table["weights_here"].fillna(False).astype(bool)
table["status"] = table["status"].fillna("not registered in matteralign.models")
paths.save_table(table, out / "status.csv")
ready = [m for m in wanted if bool(table.loc[m, "weights_here"])]
print(f"{len(ready)} of {len(wanted)} protein models have weights here.")
for m in wanted:
    if m not in ready:
        print(f"- {m}: {table.loc[m, 'status']}")
"""),
    code("""
fig, ax = plt.subplots(figsize=(8, 0.45 * len(wanted) + 1))
ax.axis("off")
ax.table(cellText=[[m, "sequence" if m in sequence_models else "structure",
                    "yes" if m in ready else "no"] for m in wanted],
         colLabels=["model", "input", "weights here"], loc="center", cellLoc="left")
ax.set_title(f"Protein models: {len(ready)} of {len(wanted)} runnable on this machine")
plotting.save_figure(fig, out, "protein_model_status")
plt.show()
"""),
    md("## Sequence–structure alignment (only with weights)"),
    code("""
seq_ready = [m for m in sequence_models if m in ready]
struct_ready = [m for m in structure_models if m in ready]
seq_struct = within_seq = small = float("nan")
if seq_ready and struct_ready:
    collection, skipped = compute.embed_models(seq_ready + struct_ready, dataset, n_samples=n_samples,
                                               seed=seed, device=device)
    tensor = compute.cached_alignment(collection, metrics=("cknna", "dcor"), k=k,
                                      metadata=compute.model_metadata(list(collection.data_vars)))
    io.save(tensor, out / "alignment.nc")
    seq_struct = robustness.block_mean(tensor, "cknna", seq_ready, struct_ready)
    within_seq = robustness.block_mean(tensor, "cknna", seq_ready, seq_ready)
    fig, ax = plt.subplots(figsize=(7, 6))
    plotting.alignment_heatmap(tensor, "cknna", ax=ax, annotate="modality", vmin=0, vmax=1,
                               title=f"CKNNA on {dataset}")
    plotting.save_figure(fig, out, "heatmap_cknna")
    plt.show()
    ref_path = paths.repo_path(small_molecule_reference)
    if ref_path.exists():
        small = robustness.block_mean(io.load(ref_path), "cknna")
else:
    paths.save_text(f"Not computed: {len(ready)} of {len(wanted)} protein models have weights here "
                    "(see status.csv for what to download).\\n", out / "status.md")
"""),
    md("## Conclusion (computed from the numbers above)"),
    code("""
if seq_ready and struct_ready:
    text = conclusions.protein_conclusion(seq_struct, within_seq, small)
else:
    text = (f"Not computed on this machine: {len(seq_ready)} of {len(sequence_models)} sequence models "
            f"and {len(struct_ready)} of {len(structure_models)} structure models have weights here. "
            "Download the weights listed above and rerun this notebook.")
conclusions.publish(text, out)
"""),
]

NOTEBOOKS = {
    "01_cross_modality_qm9": NB01,
    "02_similarity_tree": NB02,
    "03_alignment_vs_performance": NB03,
    "04_in_vs_out_of_distribution": NB04,
    "05_robustness": NB05,
    "06_proteins": NB06,
}


def build(folder: Path = ROOT / "notebooks") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{stem[:2]}-{i:02d}"
        nbformat.validate(nb)
        path = folder / f"{stem}.ipynb"
        path.write_text(nbformat.writes(nb) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "notebooks"):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
