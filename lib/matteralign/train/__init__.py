"""Model ladders trained here: small models of three modalities trained from scratch on the
same QM9 targets, at several training-set sizes, widths and seeds, so that representation
alignment can be related to measured held-out error.

* :mod:`~matteralign.train.config` — one rung's TOML config; :func:`ladder_configs`
  generates the QM9 ladder.
* :mod:`~matteralign.train.data` — targets, the fixed split (10,000 held-out molecules) and
  nested training subsets.
* :mod:`~matteralign.train.string`, :mod:`~matteralign.train.graph`,
  :mod:`~matteralign.train.geometric` — SMILES transformer, bond-graph MPNN, SchNet.
* :mod:`~matteralign.train.loop` — deterministic training with early stopping; checkpoints.
* The ``materials`` ladder: :mod:`~matteralign.train.teacher` (crystals labelled by
  sevennet-l3i5), :mod:`~matteralign.train.periodic` (periodic SchNet, forces by autograd)
  and :mod:`~matteralign.train.students` (configs, distillation, errors vs teacher and DFT).

``python -m matteralign.train <config.toml | qm9/<rung> | materials/<rung>>`` trains one rung and writes
``data/models/<ladder>/<rung>/{model.pt, config.toml, metrics.json}``; the model registry
lists every such folder as ``ladder-<ladder>-<rung>`` (:mod:`matteralign.models.ladder`).
"""

from matteralign.train.config import RungConfig, ladder_configs, load_config
from matteralign.train.loop import EarlyStopping, load_checkpoint, train

__all__ = ["RungConfig", "ladder_configs", "load_config", "train", "load_checkpoint",
           "EarlyStopping"]
