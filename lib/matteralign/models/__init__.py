"""Models: a registry of adapters that turn structures into Embeddings.

Every model — fixed descriptors (SOAP, ACSF, MBTR, Coulomb-matrix eigenvalues, Morgan
fingerprints, RDKit 2D descriptors, composition), pretrained networks and your own — is a
:class:`ModelAdapter` with one public method, :meth:`ModelAdapter.embed`, registered under a
name with its :class:`ModelInfo` metadata.

>>> from matteralign import models
>>> "soap" in models.names()
True
>>> models.info("soap").architecture
'fixed-descriptor'

* :func:`available` — DataFrame of every model with metadata and whether its weights are here
* :func:`get` — the adapter of a name; :func:`register`, :func:`register_callable` — add yours
* :func:`extract`, :func:`extract_many` — cached, resumable, optionally Dask-parallel
  extraction (:mod:`matteralign.models.extract`)
"""

from __future__ import annotations

from matteralign.models.base import GLOBAL_POOLING, POOLINGS, ModelAdapter, ModelInfo, pool

# ``extract`` is imported eagerly so that ``matteralign.models.extract`` names the function
# (a lazy first import of the submodule would rebind the package attribute to the module).
from matteralign.models.extract import extract, extract_many
from matteralign.models.registry import (
    available,
    discovery_problems,
    get,
    info,
    names,
    offline_names,
    register,
    register_callable,
    unregister,
)

__all__ = [
    "ModelInfo",
    "ModelAdapter",
    "POOLINGS",
    "GLOBAL_POOLING",
    "pool",
    "available",
    "names",
    "info",
    "get",
    "register",
    "register_callable",
    "unregister",
    "offline_names",
    "discovery_problems",
    "extract",
    "extract_many",
]

