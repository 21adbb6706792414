"""What every SMILES model here shares: reading a sample's SMILES (validated, canonical by
default), the atom-level SMILES tokenizer, and the registration of a string model with its
random twin.

Canonicalisation. None of the string models is invariant to how a molecule is written
(``OCC`` and ``CCO`` give different vectors), so by default a SMILES is rewritten as RDKit's
canonical SMILES (``Chem.MolToSmiles(Chem.MolFromSmiles(s))``) before it is read. Whether
that happens is a model parameter and part of the model version (:func:`options_tag`),
hence of the cache key. A SMILES RDKit cannot parse is refused in either case, with a
ValidationError naming the sample.

Tokenizer. :func:`tokenize` splits SMILES (and reaction SMILES) into atom-level tokens with
the regular expression of Schwaller et al., ACS Cent. Sci. 5, 1572 (2019), the one rxnfp's
``SmilesTokenizer`` uses: bracket atoms (``[nH]``, ``[C@@H]``, ``[Na+]``) are one token,
``Br``/``Cl`` are one token, every other atom symbol, bond, branch, ring-closure digit
(``%nn``, ``%(nnn)``) and reaction arrow ``>>`` is one token. Unlike rxnfp, which silently
drops characters the expression does not cover, :func:`tokenize` refuses them.

>>> tokenize("Brc1ccc([nH]2)cc1>>C%10")
['Br', 'c', '1', 'c', 'c', 'c', '(', '[nH]', '2', ')', 'c', 'c', '1', '>>', 'C', '%10']
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from matteralign.errors import ValidationError

__all__ = ["SMILES_TOKEN_RE", "tokenize", "sample_id", "sample_smiles", "read_smiles",
           "options_tag", "twin_info", "register_pair", "quiet_transformers"]

# One alternative per kind of token; order matters where two could start at one position
# (a three-digit ring closure before a two-digit one, "Br"/"Cl" before "B"/"C", ">>" before ">").
_TOKEN_KINDS = (
    r"\%\([0-9]{3}\)",         # ring closure %(nnn)
    r"\[[^\]]+\]",             # bracket atom
    r"Br?", r"Cl?",            # B, Br, C, Cl
    r"[NOSPFI]",               # the other organic-subset atoms
    r"[bcnosp]",               # aromatic atoms
    r"[|().=#\-+\\/:~@?*$]",   # bonds, branches, dots, stereo marks, wildcards
    r">>?",                    # reaction arrows
    r"\%[0-9]{2}",             # ring closure %nn
    r"[0-9]",                  # ring closure digit
)
SMILES_TOKEN_RE = re.compile("|".join(_TOKEN_KINDS))


def tokenize(smiles: str, sample: str | None = None) -> list[str]:
    """Atom-level tokens of a SMILES or reaction SMILES (Schwaller et al. 2019).

    Args:
        smiles: the string.
        sample: id used in the error message.

    Returns:
        Tokens whose concatenation is ``smiles``. O(len(smiles)).

    Raises:
        ValidationError: a character no token covers (naming the sample and position).
    """
    tokens, end = [], 0
    for m in SMILES_TOKEN_RE.finditer(smiles):
        if m.start() != end:
            break
        tokens.append(m.group())
        end = m.end()
    if end != len(smiles):
        who = f"sample {sample!r}: " if sample is not None else ""
        raise ValidationError(
            f"{who}SMILES {smiles!r} has a character the SMILES tokenizer does not cover at "
            f"position {end} ({smiles[end]!r})"
        )
    return tokens


def sample_id(sample: Any) -> str:
    """The sample's id (a plain string stands for itself)."""
    return sample if isinstance(sample, str) else str(getattr(sample, "id", "?"))


def sample_smiles(sample: Any) -> str:
    """``sample.smiles`` (a plain string is the SMILES itself); ValidationError if absent."""
    return sample if isinstance(sample, str) else sample.require("smiles")


def read_smiles(sample: Any, canonical: bool = True) -> str:
    """The SMILES a model reads for ``sample``: parsed by RDKit (so a malformed one is
    refused) and, when ``canonical``, rewritten as RDKit's canonical SMILES.

    >>> read_smiles("OCC"), read_smiles("OCC", canonical=False)
    ('CCO', 'OCC')

    Raises:
        ValidationError: no SMILES, or one RDKit cannot parse (naming the sample).
    """
    from rdkit import Chem, RDLogger

    smiles = sample_smiles(sample)
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        raise ValidationError(f"sample {sample_id(sample)!r}: RDKit cannot parse SMILES {smiles!r}")
    return Chem.MolToSmiles(mol) if canonical else smiles


def options_tag(canonical: bool, **more: Any) -> str:
    """The part of a string model's version that its reading options set, e.g.
    ``smiles=canonical`` or ``smiles=as-written;rows=cls``."""
    parts = [f"smiles={'canonical' if canonical else 'as-written'}"]
    parts += [f"{k}={v}" for k, v in more.items()]
    return ";".join(parts)


def twin_info(info: Any, seed: int, options: str) -> Any:
    """The random twin's metadata: :func:`~matteralign.models._random.random_info` with the
    reading options kept in the version (they change the vectors as much as the seed)."""
    from matteralign.models._random import random_info

    return random_info(info, seed, version=f"random-init seed={seed};{options}")


def register_pair(registry: Any, info: Any, factory: Callable[..., Any], options: str, *,
                  available: Callable[[], Any] | None = None, seed: int = 0) -> None:
    """Register a pretrained string model and its random twin (``factory(seed=seed)``).

    Like :func:`~matteralign.models._random.register_with_twin`, except that the twin's
    version keeps the reading options (:func:`twin_info`).
    """
    from functools import partial

    registry.register(info, factory, available=available)
    registry.register(twin_info(info, seed, options), partial(factory, seed=seed), available=available)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence ``transformers``' loading chatter (progress bar, the report of checkpoint
    keys a base model does not use — an LM or classifier head, expected here), then restore."""
    from transformers.utils import logging

    level, bar = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bar:
            logging.enable_progress_bar()
