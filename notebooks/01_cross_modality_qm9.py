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
# # 01 — Cross-modality alignment on QM9
#
# **Claim (paper, claim 1).** String, graph and 3D models trained on different data align
# strongly on small molecules; SMILES models and 3D models agree on which molecules are similar.
#
# **What this notebook does.** Embeds the same QM9 molecules with every offline model of each
# modality available here — SMILES/2D descriptors (Morgan fingerprints, RDKit 2D), 3D MLIPs
# (CHGNet, SevenNet), 3D descriptors (SOAP, ACSF, MBTR, Coulomb eigenvalues) and a random-weights
# twin as a floor — and computes CKNNA (k neighbours) and distance correlation between every
# pair. Heatmaps are ordered by average-linkage clustering; tick labels are coloured by modality
# and input representation (`kind`: SMILES-based 2D descriptors, 3D descriptors, 3D MLIPs,
# random-weights MLIPs). No string or graph *network* runs offline here; the SMILES-derived
# fingerprints and RDKit descriptors stand in for the 2D modality (registry names of
# downloadable string models can be added to `models`).

# %% tags=["parameters"]
dataset = "qm9"
models = ["morgan", "rdkit-2d", "chgnet-0.3.0", "sevennet-0", "soap", "acsf", "mbtr",
          "coulomb-eigen", "chgnet-0.3.0-random"]
k = 25
n_samples = 500
seed = 0
device = "cpu"
output_dir = "figures/01_cross_modality_qm9"

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
# ## Embeddings and alignment (cached under `data/embeddings` and `data/cache`)

# %%
collection, skipped = compute.embed_models(models, dataset, n_samples=n_samples, seed=seed,
                                           device=device)
display(Markdown(conclusions.missing_weights_note(skipped) or "All models ran."))
names = list(collection.data_vars)
tensor = compute.cached_alignment(collection, metrics=("cknna", "dcor"), k=k,
                                  metadata=compute.model_metadata(names))
io.save(tensor, out / "alignment.nc")
tensor.sel(metric="cknna").to_pandas().round(3)

# %% [markdown]
# ## Heatmaps, ordered by hierarchical clustering of CKNNA

# %%
order = trees.cluster_order(tensor.sel(metric="cknna"))
for metric in ("cknna", "dcor"):
    fig, ax = plt.subplots(figsize=(9, 7.5))
    plotting.alignment_heatmap(tensor, metric, ax=ax, order=order, annotate="kind", vmin=0, vmax=1,
                               title=f"{plotting.METRIC_LABELS[metric]} on {dataset} "
                                     f"(N = {tensor.attrs['n_samples']}, k = {k})")
    plotting.save_figure(fig, out, f"heatmap_{metric}")
    plt.show()

# %% [markdown]
# ## Conclusion (computed from the numbers above)

# %%
conclusions.publish(conclusions.cross_modality_conclusion(tensor, metrics=("cknna", "dcor"),
                                                         modality="kind"), out)
