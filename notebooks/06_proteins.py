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
# # 06 — Proteins: sequence vs structure models
#
# **Claim (paper, claim 5).** Protein sequence models (ESM2, ESM3, ESMC, ProstT5) align with
# structure models (ESM-IF, ProteinMPNN) about twice as strongly as small-molecule models
# align with each other.
#
# `models` lists every protein model to compare; those also named in `structure_models`
# read structures, the others sequences.
#
# **Runs when weights are present.** The protein models' weights are not shipped. The first
# output below lists, for every protein model, whether its weights are here and, if not, what
# to download and where to put it (the model registry's own messages). Without weights the
# notebook writes a status figure and `status.md` and ends with a conclusion that says so; it
# still exits normally so that `make reproduce` counts it as done.

# %% tags=["parameters"]
dataset = "peptides"
models = ["esm2-t6-8m", "esm2-t33-650m", "prostt5", "esm-if1", "proteinmpnn"]
structure_models = ["esm-if1", "proteinmpnn"]
k = 25
n_samples = 150
seed = 0
device = "cpu"
small_molecule_reference = "figures/01_cross_modality_qm9/alignment.nc"
output_dir = "figures/06_proteins"

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
from matteralign import models as registry
from matteralign.analysis import robustness

# %% [markdown]
# ## Which protein models can run here?

# %%
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

# %%
fig, ax = plt.subplots(figsize=(8, 0.45 * len(wanted) + 1))
ax.axis("off")
ax.table(cellText=[[m, "sequence" if m in sequence_models else "structure",
                    "yes" if m in ready else "no"] for m in wanted],
         colLabels=["model", "input", "weights here"], loc="center", cellLoc="left")
ax.set_title(f"Protein models: {len(ready)} of {len(wanted)} runnable on this machine")
plotting.save_figure(fig, out, "protein_model_status")
plt.show()

# %% [markdown]
# ## Sequence–structure alignment (only with weights)

# %%
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
    if ref_path.exists():  # trained small-molecule models only: no random twins, no controls
        small_tensor = io.load(ref_path)
        trained = [str(m) for m, b in zip(small_tensor["model_a"].values,
                                          small_tensor.coords.get("block_a", small_tensor["model_a"]).values)
                   if str(b) not in ("random twin", "string control")]
        small = robustness.block_mean(small_tensor, "cknna", trained, trained)
else:
    paths.save_text(f"Not computed: {len(ready)} of {len(wanted)} protein models have weights here "
                    "(see status.csv for what to download).\n", out / "status.md")

# %% [markdown]
# ## Conclusion (computed from the numbers above)

# %%
if seq_ready and struct_ready:
    text = conclusions.protein_conclusion(seq_struct, within_seq, small)
else:
    text = (f"Not computed on this machine: {len(seq_ready)} of {len(sequence_models)} sequence models "
            f"and {len(struct_ready)} of {len(structure_models)} structure models have weights here. "
            "Download the weights listed above and rerun this notebook.")
    from matteralign.analysis import claims
    claims.record(claims.untestable_claim(
        5, why=f"{len(seq_ready)} of {len(sequence_models)} sequence and {len(struct_ready)} of "
               f"{len(structure_models)} structure models have weights here",
        notebook="06_proteins", dataset=dataset), out)
conclusions.publish(text, out)
