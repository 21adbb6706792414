"""ChemNet (Preuer et al., J. Chem. Inf. Model. 58, 1736 (2018)), the network behind the
Fréchet ChemNet Distance, from the ``fcd`` wheel (1.2.2, LGPL-3.0), and its random twin.

ChemNet was trained multitask on about 6000 ChEMBL bioactivity assays. It stands in here for
the paper's SMILES language models (ChemBERTa, MolFormer, ChemGPT), whose checkpoints are not
on this machine: it is the pretrained SMILES model that ships inside a wheel.

Input: the SMILES (RDKit-canonical by default, see :mod:`matteralign.models._smiles`) plus
ChemNet's end token ``.``, one-hot over its 35-token alphabet (``fcd.utils.get_one_hot``;
``Cl``, ``Br``, ``Si`` are one token; any other character outside the alphabet — ``/``,
``\\``, ``9``, ``%``, ``[se]``'s ``e`` … — becomes its unknown token ``X``, counted and
reported), divided by 35 and padded with zeros to **350 positions**, as
``fcd.get_predictions`` does. The pad is fixed: fcd widens it for the whole list when one
SMILES is longer, which changes every other molecule's ``final`` vector (the last LSTM step
reads the trailing padding), so a SMILES over 349 characters is refused instead, naming it.

Network (``fcd.load_ref_model()``, 1,406,336 parameters) and layers:

- ``conv1``: Conv1d(35→32, kernel 4, stride 2, "same" padding, no bias) + SELU, 175 positions;
- ``conv2``: Conv1d(32→32, same) + SELU, 88 positions;
- ``lstm1``: LSTM(128) run over the positions in reverse, re-aligned to forward order;
- ``final``: the ``lstm2`` state at the last (padded) position (512), exactly what
  ``fcd.get_predictions`` returns — one row per molecule;
- ``lstm2`` (= ``last``, the default): LSTM(512) over ``lstm1`` forward, its rows over the
  SMILES positions (mean-pooled by default, as every string model here).

``lstm2`` comes after ``final`` in :data:`LAYERS` so that the default reads the mean over
SMILES tokens: ``final`` reads 350 − L trailing padding positions, and with random weights
(the ``chemnet-random`` twin) it forgets the molecule entirely — every molecule gets the same
direction (cosine 1.0 between molecules), which would make the twin a meaningless floor.

The rows of ``conv1`` … ``lstm2`` are the positions that cover the SMILES: with L tokens
(end token included), "same" padding with stride 2 maps them to the first ⌈L/2⌉ positions
of ``conv1`` and the first ⌈⌈L/2⌉/2⌉ of ``conv2`` and both LSTMs; the default pooling
averages over those (mean over positions), never over the padding.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models._random import seeded
from matteralign.models._smiles import options_tag, read_smiles, register_pair, sample_id, twin_info
from matteralign.models._weights import torch_threads
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["PAD", "MAX_CHARS", "LAYERS", "ChemNetAdapter", "info", "register", "unknown_characters"]

PAD = 350  # positions ChemNet reads (fcd's default pad length)
MAX_CHARS = PAD - 1  # one position is the end token
LAYERS = ("conv1", "conv2", "lstm1", "final", "lstm2")
N_PARAMS = 1_406_336
CHECKPOINT = "ChemNet_v0.13_pretrained.pt"


def _fcd_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fcd")
    except PackageNotFoundError:
        return "?"


def info(canonical: bool = True) -> ModelInfo:
    """Registry metadata of the pretrained ChemNet read with the given SMILES option."""
    return ModelInfo(
        name="chemnet",
        modality="string",
        family="ChemNet",
        architecture="convolutional-recurrent",
        training_data="ChEMBL: multitask bioactivity prediction on ~6000 assays (Preuer et al. 2018)",
        n_params=N_PARAMS,
        performance={},
        reference="Preuer et al., J. Chem. Inf. Model. 58, 1736 (2018); fcd package (LGPL-3.0)",
        package="fcd",
        input="smiles",
        layers=LAYERS,
        random_weights=False,
        tested_here=True,
        version=f"fcd{_fcd_version()}-{CHECKPOINT.removesuffix('.pt')};{options_tag(canonical)}",
        granularity="token",
        rotation_invariant=True,
        domains=("molecules",),
        description=("ChemNet (FCD network, SMILES CNN+LSTM, 512-d); offline substitute for the "
                     "paper's ChemBERTa/MolFormer/ChemGPT"),
    )


def unknown_characters(smiles: str) -> list[str]:
    """The tokens of ``smiles`` outside ChemNet's alphabet (read as its unknown token ``X``).

    >>> unknown_characters("F/C=C/F"), unknown_characters("ClCBr")
    (['/', '/'], [])
    """
    from fcd import utils

    vocab = set(getattr(utils, "__vocab"))
    return [t for t in utils.tokenize(smiles) if t not in vocab]


def checkpoint_path() -> Path | None:
    """Where the ``fcd`` wheel keeps ChemNet's weights (None when fcd is not installed);
    found without importing fcd."""
    spec = importlib.util.find_spec("fcd")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / CHECKPOINT


def _available() -> bool | str:
    path = checkpoint_path()
    if path is None:
        return "package 'fcd' not installed: pip install fcd==1.2.2 (a default dependency of matteralign)"
    return True if path.exists() else f"fcd is installed but its checkpoint {path} is missing; reinstall fcd==1.2.2"


def _reinitialise(model: Any) -> Any:
    """Every convolution and LSTM of ``model`` re-drawn with torch's own initialiser (the one
    ``fcd`` gets when it builds the modules, before loading the trained state)."""
    for m in model.modules():
        if hasattr(m, "reset_parameters") and m is not model:
            m.reset_parameters()
    return model


class ChemNetAdapter(ModelAdapter):
    """Hidden features of ChemNet (see the module docstring for layers and rows).

    Args:
        canonical: rewrite each SMILES as RDKit's canonical SMILES first (default; part of
            the model version).
        seed: if given, the random twin: the same modules re-initialised under this seed.
        threads: torch intra-op threads (None: leave torch's setting).
    """

    default_batch_size = 64

    def __init__(self, canonical: bool = True, seed: int | None = None, threads: int | None = 1):
        self.canonical = bool(canonical)
        self.seed = seed
        self.threads = threads
        base = info(self.canonical)
        self.info = base if seed is None else twin_info(base, seed, options_tag(self.canonical))
        self._model = None
        self.unknown: dict[str, int] = {}  # sample id -> characters read as 'X' (last call)
        self._tally: dict[str, int] | None = None  # the same over one embed() call

    @property
    def model(self):
        """The ``torch.nn.Sequential`` of ``fcd.load_ref_model`` (or its random twin)."""
        if self._model is None:
            import fcd

            trained = fcd.load_ref_model(str(checkpoint_path()))  # no temporary copy
            _check(trained)
            if self.seed is None:
                self._model = trained
            else:
                self._model = seeded(lambda: _reinitialise(copy.deepcopy(trained)), self.seed)
        return self._model

    def _encode(self, samples: Sequence[Any]) -> tuple[np.ndarray, list[int]]:
        from fcd.utils import get_one_hot, tokenize

        rows, lengths = [], []
        for s in samples:
            smi = read_smiles(s, self.canonical)
            if len(smi) > MAX_CHARS:
                raise ValidationError(
                    f"sample {sample_id(s)!r}: SMILES has {len(smi)} characters; ChemNet reads at "
                    f"most {MAX_CHARS} (its {PAD} positions include the end token)"
                )
            unknown = unknown_characters(smi)
            if unknown:
                self.unknown[sample_id(s)] = len(unknown)
            one_hot = get_one_hot(smi, pad_len=PAD)
            rows.append(one_hot / one_hot.shape[1])
            lengths.append(len(tokenize(smi + ".")))
        return np.stack(rows).astype(np.float32), lengths

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(positions, width)`` rows of ``layer`` per sample (``final``: one 512-d row).

        Cost: one forward pass per batch over 350 positions, O(batch · 350).
        """
        import torch

        layer = self.resolve_layer(layer)
        if not samples:
            return []
        self.unknown = {}
        x, lengths = self._encode(samples)
        if self.unknown:
            if self._tally is not None:  # inside embed(): one warning at the end of the call
                self._tally.update(self.unknown)
            else:
                _warn_unknown(self.unknown, stacklevel=3)
        model = self.model.to(device)
        m = list(model)
        with torch.no_grad(), torch_threads(self.threads):
            h = torch.from_numpy(x).transpose(1, 2).to(device)  # (B, 35, 350)
            conv1 = m[2](m[1](m[0](h)))
            conv2 = m[5](m[4](m[3](conv1)))
            seq = m[6](conv2)  # (B, 88, 32)
            lstm1 = m[10](m[9](m[8](m[7](seq))))  # reversed in, re-aligned out
            lstm2 = m[12](m[11](lstm1))
            feats = {"conv1": conv1.transpose(1, 2), "conv2": conv2.transpose(1, 2),
                     "lstm1": lstm1, "lstm2": lstm2}
            if layer == "final":
                final = m[13](lstm2).cpu().numpy()
                return [final[i : i + 1] for i in range(len(samples))]
            out = feats[layer].cpu().numpy()
        rows = []
        for i, n in enumerate(lengths):
            n1 = math.ceil(n / 2)
            keep = n1 if layer == "conv1" else math.ceil(n1 / 2)
            rows.append(out[i, :keep])
        return rows

    def embed(self, dataset: Any, *args: Any, **kwargs: Any):
        """:meth:`ModelAdapter.embed`, with ``attrs["unknown_characters"]``: how many
        characters of the SMILES read were outside ChemNet's alphabet, in all."""
        self._tally = {}
        try:
            emb = super().embed(dataset, *args, **kwargs)
        finally:
            tally, self._tally = self._tally, None
        if tally:
            _warn_unknown(tally, stacklevel=2)
        emb.attrs["unknown_characters"] = int(sum(tally.values()))
        return emb

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        return state


def _warn_unknown(unknown: dict[str, int], *, stacklevel: int) -> None:
    shown = ", ".join(f"{k!r}: {v}" for k, v in list(unknown.items())[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    warnings.warn(
        f"chemnet: {sum(unknown.values())} character(s) outside ChemNet's 35-token alphabet "
        f"read as its unknown token 'X' in {len(unknown)} sample(s) ({shown}{more})",
        stacklevel=stacklevel + 1,
    )


def _factory(canonical: bool = True, seed: int | None = None, threads: int | None = 1) -> ChemNetAdapter:
    return ChemNetAdapter(canonical=canonical, seed=seed, threads=threads)


def _check(model: Any) -> None:
    """Refuse an fcd whose ChemNet is laid out differently from the one read here."""
    kinds = [type(m).__name__ for m in model]
    if kinds[:2] != ["SamePadding1d", "Conv1d"] or kinds[8] != "LSTM" or kinds[11] != "LSTM":
        raise ValidationError(f"unexpected ChemNet layout in this fcd version: {kinds}")


def register(registry: Any) -> None:
    """Register ``chemnet`` and ``chemnet-random``."""
    register_pair(registry, info(), partial(_factory), options_tag(True), available=_available)
