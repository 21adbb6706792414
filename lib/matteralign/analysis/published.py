"""The paper's published model-to-model distances (``data/published/``).

``data/published/published_sqrtjsd_cknna_k25.json`` holds, for each of the four reference
datasets of arXiv 2512.03750 (OMat24, OMol25, QM9, sAlex), the symmetric matrix of
sqrt(JSD)-of-CKNNA (k = 25) distances between 29–33 MLIPs, with every model's family,
training corpus, training data and parameter count. It was released with the paper and is
redistributed under MIT by Garden-AI/almanac (see ``data/published/PROVENANCE.md``).

:func:`load_published` returns one dataset as an alignment tensor with the single metric
``sqrt_jsd_cknna`` so that published and recomputed results share one data model.

Examples
--------
>>> published_datasets()
['omat24', 'omol25', 'qm9', 'salex']
>>> t = load_published("omat24")
>>> t.sizes["model_a"], t.attrs["k"], float(t.sel(metric="sqrt_jsd_cknna")[0, 1])
(30, 25, 0.00243)
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign.analysis.paths import repo_path
from matteralign.errors import CorruptFileError, MissingDataError, unknown_name
from matteralign.tensors import alignment_tensor

__all__ = ["PUBLISHED_FILE", "PUBLISHED_METRIC", "ARCHITECTURE_CLASS", "published_datasets",
           "load_published"]

PUBLISHED_FILE = "data/published/published_sqrtjsd_cknna_k25.json"
PUBLISHED_METRIC = "sqrt_jsd_cknna"
#: Architecture class of each published family (matteralign's annotation, not in the file):
#: whether the network is built equivariant, or learns symmetry from data/regularisers.
ARCHITECTURE_CLASS = {
    "MACE": "equivariant",
    "eqV2": "equivariant",
    "eSEN": "equivariant",
    "UMA": "equivariant",
    "ORB": "not built equivariant",
    "PET-MAD": "not built equivariant",
}


@lru_cache(maxsize=4)
def _read(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise MissingDataError(
            f"published distances not found at {p}; restore {PUBLISHED_FILE} from the repository"
        )
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{p} is not valid JSON ({exc}); restore it from the repository") from exc


def published_datasets(path: str | None = None) -> list[str]:
    """Ids of the datasets with published distances, e.g. ``['omat24', 'omol25', ...]``."""
    data = _read(str(repo_path(path or PUBLISHED_FILE)))
    return [d["id"] for d in data["datasets"]]


def load_published(dataset: str, path: str | None = None) -> xr.DataArray:
    """One dataset's published distances as an alignment tensor.

    Args:
        dataset: an id from :func:`published_datasets` (case-insensitive; ``"OMat24"`` works).
        path: the JSON file (default :data:`PUBLISHED_FILE` under the repository root).

    Returns:
        ``DataArray`` with dims ``(metric, model_a, model_b)`` and the single metric
        ``sqrt_jsd_cknna``; model coordinates are the published labels, with metadata
        coordinates ``family``, ``architecture`` (:data:`ARCHITECTURE_CLASS`), ``corpus``, ``training_data``, ``n_params`` and ``model_id``
        (``_a`` / ``_b``); missing metadata are ``""`` (strings) or NaN (numbers). ``attrs``
        record the source, licence, k and the dataset name.

    Raises:
        UnknownNameError: ``dataset`` is not in the file.
    """
    data = _read(str(repo_path(path or PUBLISHED_FILE)))
    by_id = {d["id"].lower(): d for d in data["datasets"]}
    by_name = {d["dataset"].lower(): d for d in data["datasets"]}
    entry = by_id.get(dataset.lower()) or by_name.get(dataset.lower())
    if entry is None:
        raise unknown_name("published dataset", dataset, list(by_id))
    labels = list(entry["labels"])
    matrix = np.asarray(entry["matrix"], dtype=float)
    meta = {}
    for m in entry["models"]:
        meta[m["label"]] = {
            "family": m.get("family"),
            "architecture": ARCHITECTURE_CLASS.get(str(m.get("family")), "unknown"),
            "corpus": m.get("corpus"),
            "training_data": m.get("trainedOn"),
            "n_params": m.get("numParams"),
            "model_id": m.get("modelName"),
        }
    return alignment_tensor(
        matrix[None], metrics=[PUBLISHED_METRIC], models=labels, metadata=meta,
        attrs={"source": data.get("source", ""), "licence": "MIT (Garden-AI/almanac)",
               "k": 25, "dataset": entry["dataset"], "dataset_id": entry["id"],
               "description": entry.get("metric", ""), "published": True},
        name="published_distance",
    )
