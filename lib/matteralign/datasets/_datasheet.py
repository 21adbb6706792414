"""Datasheets for generated and shipped structure sets: how made, size, element histogram
and atoms-per-structure histogram, as Markdown text tables (Gebru et al. 2021, "Datasheets
for Datasets", in miniature)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from matteralign.io import atomic_path

__all__ = ["element_histogram", "size_histogram", "datasheet", "write_datasheet"]


def element_histogram(frames: Iterable) -> list[tuple[str, int, int]]:
    """``(symbol, n_atoms, n_structures)`` per element, by atomic number. O(total atoms).

    >>> from ase import Atoms
    >>> element_histogram([Atoms("H2O"), Atoms("H2")])
    [('H', 4, 2), ('O', 1, 1)]
    """
    from ase.data import atomic_numbers, chemical_symbols

    atoms_count: Counter[str] = Counter()
    struct_count: Counter[str] = Counter()
    for atoms in frames:
        symbols = [chemical_symbols[z] for z in atoms.numbers]
        atoms_count.update(symbols)
        struct_count.update(set(symbols))
    return [(s, atoms_count[s], struct_count[s])
            for s in sorted(atoms_count, key=lambda s: atomic_numbers[s])]


def size_histogram(sizes: Sequence[int], edges: Sequence[int] | None = None) -> list[tuple[str, int]]:
    """Counts of atoms-per-structure in bins ``[edges[i], edges[i+1])``.

    >>> size_histogram([1, 2, 9, 40], edges=[1, 8, 32, 1000])
    [('1–7', 2), ('8–31', 1), ('32–999', 1)]
    """
    sizes = np.asarray(sizes)
    if edges is None:
        edges = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 100000]
    counts, _ = np.histogram(sizes, bins=np.asarray(edges))
    return [(f"{lo}–{hi - 1}", int(c)) for lo, hi, c in zip(edges[:-1], edges[1:], counts) if c]


def datasheet(title: str, how_made: str, frames: Sequence, failures: Sequence = (),
              extra: str = "") -> str:
    """The Markdown text of one datasheet (deterministic: same frames, same text)."""
    sizes = [len(a) for a in frames]
    lines = [f"# Datasheet: {title}", "", "## How it was made", "", how_made.strip(), "",
             "## Size", "",
             f"* structures: {len(frames)}",
             f"* atoms: {sum(sizes)} (per structure: min {min(sizes, default=0)}, "
             f"median {int(np.median(sizes)) if sizes else 0}, max {max(sizes, default=0)})",
             f"* failed and excluded: {len(failures)}", ""]
    if failures:
        lines += ["## Failures (listed, not silently dropped)", "", "| id | input | reason |",
                  "|---|---|---|"]
        lines += [f"| {f.id} | `{f.smiles}` | {f.reason} |" for f in failures]
        lines.append("")
    lines += ["## Elements", "", "| element | atoms | structures |", "|---|---:|---:|"]
    lines += [f"| {s} | {n} | {m} |" for s, n, m in element_histogram(frames)]
    lines += ["", "## Atoms per structure", "", "| atoms | structures |", "|---|---:|"]
    lines += [f"| {b} | {c} |" for b, c in size_histogram(sizes)]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"


def reproducibility_note(kind: str, name: str) -> str:
    """The "Reproducibility" section of a datasheet: what regeneration reproduces.

    ``kind`` is ``"bytes"`` (RDKit sets: the structure file itself is byte-identical),
    ``"static"`` or ``"md"`` (CHGNet sets: within the tolerances of
    :data:`matteralign.datasets._store.TOLERANCES`, listed in the text).
    """
    from matteralign.datasets._store import TOLERANCES

    check = f"`python -m matteralign.datasets.generate --check --only {name}`"
    if kind == "bytes":
        body = (
            "Regenerating gives this datasheet and the structure file byte for byte: RDKit's "
            "ETKDG and MMFF94 run single-threaded without BLAS, so the same RDKit wheel gives "
            "the same coordinates on every x86-64 CPU and thread count. " + check + " reports "
            "`byte-identical` per file; were a platform's libm to change a last digit, it "
            "would fall back to the structure tolerances (positions "
            f"{TOLERANCES['static', 'positions'].limit:.0e} Å)."
        )
    else:
        groups = ["static"] + (["md"] if kind == "md" else [])
        limits = "; ".join(
            f"{'MD snapshots' if g == 'md' else 'other frames' if kind == 'md' else 'frames'}: "
            + ", ".join(f"{q} {t.limit:.0e} {t.unit}" for (gg, q), t in TOLERANCES.items()
                        if gg == g and q != "forces")
            for g in groups)
        body = (
            "This datasheet (counts and text) regenerates byte for byte; the structure file "
            "does not across CPUs and thread counts: CHGNet runs in float32 with SIMD kernels "
            "that torch and MKL pick per CPU (AVX-512, AVX2), so energies and magnetic "
            "moments differ in their 6th–8th significant digit and relaxed positions on "
            "high-symmetry sites by up to 5e-4 Å (measured)"
            + ("; MD carries such differences along its trajectory" if kind == "md" else "")
            + ". A regenerated file agrees with this one within (" + limits + "), and "
            "exactly in ids, species, step counts and flags; " + check + " prints the "
            "largest deviation per quantity (see the README, 'Reproducibility across "
            "machines')."
        )
    return "## Reproducibility\n\n" + body


def write_datasheet(path: str | os.PathLike, *args, **kwargs) -> Path:
    """Write :func:`datasheet` to ``path`` atomically."""
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(datasheet(*args, **kwargs))
        tmp.chmod(0o644)
    return target
