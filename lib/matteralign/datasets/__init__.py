"""Datasets with stable sample ids that every model adapter can read.

>>> from matteralign import datasets
>>> ds = datasets.load("qm9", n=3, seed=0)
>>> len(ds), ds.ids == datasets.load("qm9", n=5, seed=0).ids[:3]
(3, True)

* :func:`available` — the registry as a table (domain, role, size, representations, …);
* :func:`load` ``(name, n=None, seed=0)`` — a :class:`Dataset`, deterministically and
  nestedly subsampled; ``load("file:<path>")`` reads files on disk;
* :func:`register` ``(info, loader)`` — bring your own dataset;
* loaders for the study's real data: :func:`from_ase_db`, :func:`from_aselmdb`,
  :func:`from_mptrj_json`, :func:`from_alexandria_json`, :func:`from_folder`,
  :func:`from_smiles_csv`, :func:`from_fasta`, :func:`from_pdb_folder`;
* :func:`in_vacuum_box` — a molecule in a periodic box for models that need a cell.
"""

from __future__ import annotations

from matteralign.datasets import _shipped  # noqa: F401  (registers the shipped sets)
from matteralign.datasets.base import Dataset, DatasetInfo, LazySamples, Sample, in_vacuum_box
from matteralign.datasets.loaders import (
    from_alexandria_json,
    from_ase_db,
    from_aselmdb,
    from_fasta,
    from_folder,
    from_mptrj_json,
    from_path,
    from_pdb_folder,
    from_smiles_csv,
)
from matteralign.datasets.registry import available, info, load, names, register, unregister

__all__ = [
    "Dataset", "DatasetInfo", "LazySamples", "Sample", "in_vacuum_box",
    "available", "info", "load", "names", "register", "unregister",
    "from_ase_db", "from_aselmdb", "from_mptrj_json", "from_alexandria_json", "from_folder",
    "from_smiles_csv", "from_fasta", "from_pdb_folder", "from_path",
]
