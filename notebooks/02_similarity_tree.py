# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — Similarity tree of models (Fig. 1F)
#
# **Claim (paper, claim 2).** Distances between models — sqrt(JSD) transforms of CKNNA at
# k = 25 — give trees in which models cluster by **training dataset more than by architecture**.
#
# **Distance used here.** The paper's exact transform (appendix eqs A9–A12) is not available.
# `trees.cknna_to_distance(form="rows")` describes each model by its CKNNA profile against all
# models, `P_i(j) = c⁺_ij / Σ_l c⁺_il`, and takes `d_ij = sqrt(JSD₂(P_i, P_j))`; the
# alternative `form="pair"` uses `sqrt(JSD₂(Bern(1), Bern(c_ij)))`. Both are computed on our
# models below and set beside the published scale.
#
# **What this notebook does.**
# 1. Draws the published distance matrices of all four datasets (OMat24, OMol25, QM9, sAlex;
#    `data/published/`) as trees, leaves coloured by training data and shaped by architecture
#    class.
# 2. Tests the claim formally: a permutation test of each grouping (family, training corpus,
#    training data) on each distance matrix with its effect size (PERMANOVA R²), and
#    stratified tests that permute training-corpus labels *within* families (and family labels
#    within corpora), because family and corpus are entangled in this set of models.
# 3. Recomputes CKNNA for the offline MLIPs here and draws their tree side by side with the
#    published one.

# %% tags=["parameters"]
dataset = "mptrj-random"
models = ["chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan", "sevennet-0", "sevennet-0-22may2024",
          "sevennet-l3i5", "sevennet-mf-0", "chgnet-0.3.0-random", "sevennet-0-random"]
k = 25
# mptrj-random at its full size. Notebook 05 (2026-12-02): the mean CKNNA over pairs is within
# ±0.02 of its N = 1000 value from N = 700 (k = 25: +0.001 [−0.002, +0.002]), but with 6 model
# pairs the rank criterion cannot be certified below the full set (τ = 0.87 [0.38, 1.00] at 700)
n_samples = 1000
seed = 0
device = "cpu"
output_dir = "figures/02_similarity_tree"
published_datasets = ["omat24", "omol25", "qm9", "salex"]
tree_method = "average"
jsd_form = "rows"
n_permutations = 9999

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matteralign import io
from matteralign.analysis import compute, conclusions, grouping, paths, plotting, published, trees, trends

plotting.use_style()
out = paths.figures_dir(output_dir)
print("writing to", out)

# %% [markdown]
# ## 1. Published distances as trees

# %%
pub = {name: published.load_published(name).sel(metric=published.PUBLISHED_METRIC)
       for name in published_datasets}
colours = plotting.colours_for(sum((trees.leaf_values(d, "training_data") for d in pub.values()), []))
markers = plotting.markers_for(sum((trees.leaf_values(d, "architecture") for d in pub.values()), []))
fig, axes = plt.subplots(1, len(pub), figsize=(6.5 * len(pub), 10), squeeze=False)
for ax, d in zip(axes[0], pub.values()):
    trees.draw_model_tree(d, ax, method=tree_method, colours=colours, markers=markers,
                          title=f"published, {d.attrs['dataset']}", legend=ax is axes[0][0])
fig.tight_layout()
plotting.save_figure(fig, out, "published_trees")
plt.show()

# %% [markdown]
# ## 2. Does family or training data separate the models? Permutation tests

# %%
tables = {name: grouping.compare_groupings(
              published.load_published(name), groupings=("family", "corpus", "training_data"),
              stratified=[("corpus", "family"), ("family", "corpus")],
              n_permutations=n_permutations, seed=seed)
          for name in published_datasets}
table = pd.concat(tables, names=["dataset", "test"])
paths.save_table(table, out / "grouping_tests.csv")
table[["grouping", "stratified_by", "mean_within", "mean_across", "statistic", "z", "r2",
       "p_value"]].round(4)

# %% [markdown]
# ## 3. Our models: recomputed CKNNA → sqrt(JSD) distances → tree

# %%
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

# %%
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

# %% [markdown]
# ## 4. Claim 6 on the published matrices: is Orb-v3 as close to equivariant models as they are to each other?
#
# For each model `j` of the equivariant families MACE and EquiformerV2 (eqV2): its mean
# published distance to the *other* equivariant family (`a_j`, how close two equivariant
# architectures are) against its mean distance to the eight Orb-v3 variants (`b_j`; Orb-v3 is
# not built equivariant and was trained with an equivariance regulariser). `Δ = mean(b − a)`
# over the targets, bootstrap interval over targets, sign-flip p
# (`analysis.equivariance.equivariance_contrast`), overall and per family: the claim names
# both families, so it holds only if Orb-v3 is closer for the MACE targets and for the eqV2
# targets. Orb-v2, trained without the regulariser, is shown beside it as a control (one
# model: no test).

# %%
from matteralign.analysis import equivariance

claim6_evidence = {name: equivariance.equivariance_contrast(published.load_published(name),
                                                            n_boot=2000, seed=seed)
                   for name in published_datasets}
claim6_table = pd.DataFrame({
    name: {"targets": r.evidence.n_units, "MACE↔eqV2": r.evidence.mean_a,
           "Orb-v3↔equivariant": r.evidence.mean_b, "Δ": r.evidence.mean_difference,
           "low": r.evidence.low, "high": r.evidence.high, "p": r.evidence.p_value,
           **{f"Δ {f} targets": e.mean_difference for f, e in r.by_family.items()},
           **{f"p {f} targets": e.p_value for f, e in r.by_family.items()},
           "Orb-v2↔equivariant (control)": r.control_mean}
    for name, r in claim6_evidence.items()}).T
paths.save_table(claim6_table, out / "claim6_equivariance.csv")
fig, axes = plt.subplots(1, len(claim6_evidence), figsize=(4.2 * len(claim6_evidence), 4.2),
                         sharey=True, squeeze=False)
for ax, (name, r) in zip(axes[0], claim6_evidence.items()):
    t = r.per_target
    cols = [("cross_family", "MACE↔eqV2"), ("to_probe", "↔ Orb-v3"), ("to_control", "↔ Orb-v2")]
    for i, (col, _) in enumerate(cols):
        ax.scatter(np.full(len(t), i) + np.linspace(-0.12, 0.12, len(t)), t[col], s=14,
                   c=[plotting.colours_for(["MACE", "eqV2"])[f] for f in t["family"]])
    for _, row in t.iterrows():
        ax.plot([0, 1], [row["cross_family"], row["to_probe"]], color="0.8", lw=0.6, zorder=0)
    ax.set_xticks(range(len(cols)), [c[1] for c in cols])
    if ax is axes[0][0]:
        for f, colour in plotting.colours_for(["MACE", "eqV2"]).items():
            ax.scatter([], [], c=[colour], s=14, label=f"{f} target")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{pub[name].attrs['dataset']}: Δ = {r.evidence.mean_difference:+.3f} "
                 f"[{r.evidence.low:+.3f}, {r.evidence.high:+.3f}]", fontsize=10)
axes[0][0].set_ylabel("published sqrt(JSD) distance (k = 25)\nper MACE / eqV2 target model")
fig.tight_layout()
plotting.save_figure(fig, out, "claim6_equivariance")
plt.show()
claim6_table.round(4)

# %% [markdown]
# ## Conclusion (computed from the numbers above)

# %%
ours_tests = grouping.compare_groupings(ours, groupings=("family", "training_data"),
                                        n_permutations=n_permutations, seed=seed)
paths.save_table(ours_tests, out / "grouping_tests_ours.csv")
gap = (scale.loc[[f"ours ({f})" for f in trees.JSD_FORMS], "median"]
       - scale.loc[f"published {reference}", "median"]).abs()
closest = gap.idxmin().removeprefix("ours (").removesuffix(")")
text = (conclusions.grouping_conclusion(tables, family="family", training="corpus")
        + "\n\n**Our models** (" + dataset + "): "
        + " ".join(conclusions.grouping_sentence(r) for _, r in ours_tests.iterrows())
        + "\n\n" + conclusions.scale_sentence(trees.distance_summary(ours),
                                               trees.distance_summary(pub[reference]))
        + f" Of the two sqrt(JSD) forms, the **{closest}** form puts our median distance closest "
          f"to the published {reference} median (this notebook draws the {jsd_form} form).")
from matteralign.analysis import claims
claim2 = claims.grouping_claims(tables, notebook="02_similarity_tree", family="family",
                                training="corpus")
for result in claim2:
    claims.record(result, out)
text += "\n\n" + "\n\n".join(claims.sentence(r) for r in claim2)
claim6 = [claims.equivariance_claim(
    r, dataset=name, notebook="02_similarity_tree",
    published="paper: Orb-v3 aligns strongly with equivariant MACE and EquiformerV2 "
              "(no number released); statistic computed on the published matrix")
          for name, r in claim6_evidence.items()]
for result in claim6:
    claims.record(result, out)
text += "\n\n" + "\n\n".join(claims.sentence(r) for r in claim6)
closer_control = [n for n, r in claim6_evidence.items() if r.control_mean <= r.evidence.mean_b]
if closer_control:
    text += ("\n\nOrb-v2, trained without the equivariance regulariser, is as close or closer "
             f"to the equivariant models on {', '.join(closer_control)}, so there the closeness "
             "cannot be credited to the regulariser (one control model, so no test).")
conclusions.publish(text, out)
