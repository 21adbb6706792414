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
# # 05 — Robustness of the conclusions
#
# How much does CKNNA depend on the analyst's choices? This notebook varies one choice at a time
# on one dataset: the neighbourhood size **k** (5…100), the **number of samples** (where does
# the estimate stabilise? repeated random subsets give the band), the **pooling** of atom
# features into a structure vector (mean, sum, cumulants = mean ⊕ variance) and the **layer**
# read out of each model. Pooling and layer sweeps re-embed the structures once per setting
# (`pooling_models`, `layer_models` keep them affordable on a CPU; equivariant `-irreps`
# layers are left out of the layer sweep).

# %% tags=["parameters"]
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
import seaborn as sns
from matteralign import metrics, models as registry
from matteralign.analysis import robustness

# %%
data = compute.load_dataset(dataset, n_samples, seed)
collection, skipped = compute.embed_models(models, data, device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
tensor = compute.cached_alignment(collection, metrics=("cknna",), k=k)
io.save(tensor, out / "alignment.nc")

# %% [markdown]
# ## CKNNA vs k
#
# Where k is a large fraction of the N samples (k/N above `metrics.CKNNA_MAX_K_FRACTION`)
# the neighbourhoods cover much of the sample and the CKNNA estimator is unreliable: those
# points are drawn hollow over a shaded band, and the conclusion's range over k uses only
# the others.

# %%
by_k = robustness.sweep_k(collection, ks)
by_k["pair"] = by_k.model_a + " – " + by_k.model_b
by_k["reliable"] = by_k.k / by_k.n <= metrics.CKNNA_MAX_K_FRACTION
paths.save_table(by_k, out / "cknna_vs_k.csv")
fig, ax = plt.subplots(figsize=(8, 4.5))
plotting.k_sweep_plot(by_k, ax=ax, title=f"CKNNA vs k on {dataset} (N = {len(data)})")
plotting.save_figure(fig, out, "cknna_vs_k")
plt.show()

# %% [markdown]
# ## CKNNA vs number of samples (repeated random subsets)

# %%
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

# %% [markdown]
# ## CKNNA vs pooling

# %%
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

# %% [markdown]
# ## CKNNA vs layer (each layer of a model against the reference's last layer)

# %%
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

# %% [markdown]
# ## Conclusion (computed from the numbers above)

# %%
by_reliable_k = by_k[by_k.reliable].groupby("k")["value"].mean()
ranges = {f"k (k/N ≤ {metrics.CKNNA_MAX_K_FRACTION:g})": (by_reliable_k.min(), by_reliable_k.max()),
          "number of samples": (means.mean().min(), means.mean().max()),
          "pooling": (by_pool.groupby("pooling")["value"].mean().min(),
                      by_pool.groupby("pooling")["value"].mean().max()),
          "layer": (by_layer["cknna_to_reference"].min(), by_layer["cknna_to_reference"].max())}
text = ("Mean CKNNA over model pairs as one choice varies:\n\n" + conclusions.robustness_conclusion(ranges)
        + "\n\n" + conclusions.stabilisation_sentence(
            means.columns, means.mean().values, tolerance=tolerance,
            what=f"The mean CKNNA over model pairs (k = {min(k, min(sample_sizes) - 1)})",
            per_group=stable["stabilises_at_n"].values, group_name="model pairs"))
conclusions.publish(text, out)
