"""Exceptions raised by matteralign.

Every error a user can trigger by feeding bad input derives from
:class:`MatteralignError`, so callers can catch the whole family at once, and carries a
one-line message that says what was wrong and, where possible, what to do.
"""

from __future__ import annotations


class MatteralignError(Exception):
    """Base class of every matteralign error."""


class ValidationError(MatteralignError, ValueError):
    """Input data is malformed: NaN/inf values, mismatched or duplicate sample ids, too few
    samples, bad parameters such as ``k >= N``."""


class UnknownNameError(MatteralignError, KeyError):
    """A model, dataset or metric name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingWeightsError(MatteralignError, FileNotFoundError):
    """A model's weights are not on this machine; the message says what to download and
    where to put it."""


class MissingDataError(MatteralignError, FileNotFoundError):
    """A dataset's files are not on this machine; the message says what to download and
    where to put it."""


class CorruptFileError(MatteralignError, OSError):
    """A file exists but cannot be read as what it claims to be."""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists close matches and the known names."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(sorted(known)[:12]) + (" …" if len(known) > 12 else "")
    return UnknownNameError(f"unknown {kind} {name!r}.{hint} Known {kind}s: {shown}")


class StoreMismatchError(MatteralignError):
    """Embeddings in the verified store differ from a fresh extraction (or were made with
    another model version); the message names the model and the sample."""
