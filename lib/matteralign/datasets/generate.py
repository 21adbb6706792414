"""Regenerate the shipped, generated structure sets and check them against the committed ones.

``python -m matteralign.datasets.generate`` (or ``make datasets``) rewrites, under the data
root (:func:`matteralign.datasets._paths.data_dir`):

* ``nci-organics/nci-organics.xyz.xz`` + ``DATASHEET.md``
* ``peptides/peptides.xyz.xz`` + ``DATASHEET.md``
* ``prototypes/prototypes.xyz.xz`` + ``DATASHEET.md`` (CHGNet-relaxed decorated prototypes)
* ``prototypes-perturbed/prototypes-perturbed.xyz.xz`` + ``DATASHEET.md`` (rattled, strained
  and short Langevin MD snapshots of the relaxed prototypes)

Every step has fixed seeds, runs torch on one thread, and rounds coordinates before writing.
``--check`` regenerates into a temporary folder and compares with the data root, file by
file: a file is accepted when it is byte-identical, or, for a structure file, when every
quantity agrees within the physical tolerance stated in
:data:`matteralign.datasets._store.TOLERANCES` (ids, species, flags and integers exactly).
It prints, per file, ``byte-identical`` or the largest deviation per quantity. What holds
where: the datasheets (counts and text) and the RDKit sets (nci-organics, peptides;
single-threaded, no BLAS) come out byte-identical; the CHGNet sets (prototypes,
prototypes-perturbed) do not across CPUs or thread counts (torch/MKL pick SIMD kernels per
CPU, and float32 results differ in their 7th digit), and agree within tolerance.
``--only`` picks sets; ``--out`` writes elsewhere. The MatterSim benchmark copy is
re-derived byte-identically by ``scripts/fetch_mattersim_benchmarks.py``.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from matteralign.datasets._datasheet import reproducibility_note, write_datasheet
from matteralign.datasets._paths import data_dir
from matteralign.datasets._store import compare_structures, read_structures, write_structures

__all__ = ["SETS", "generate", "main", "check_file", "how_made", "reproducibility"]


def how_made_nci() -> str:
    """The nci-organics datasheet's "how made" paragraph."""
    from matteralign.datasets import organics

    return (
        "The 4,999 SMILES of RDKit's `Data/NCI/first_5K.smi` (NCI open database subset shipped "
        "with RDKit, public domain), ids `nci:<serial>`. Hydrogens added; one conformer by "
        f"ETKDGv3 (randomSeed={organics.EMBED_SEED}, one thread; retried from random "
        "coordinates on failure), then MMFF94 relaxation (UFF where MMFF lacks parameters; "
        f"`ff=none` keeps the ETKDG geometry), at most {organics.FF_MAX_ITERS} iterations "
        "(`ff_converged` records whether it converged). Non-periodic, no cell; use "
        "`matteralign.datasets.in_vacuum_box` for models that need one. Coordinates rounded "
        "to 1e-6 Å. Regenerate: `python -m matteralign.datasets.generate --only nci-organics`."
    )


def _nci(out: Path) -> list[Path]:
    from matteralign.datasets import organics

    frames, failures = organics.generate_nci()
    return _write(out / "nci-organics", "nci-organics", frames, failures, how_made_nci())


def how_made_peptides() -> str:
    """The peptides datasheet's "how made" paragraph."""
    from matteralign.datasets import organics

    return (
        "150 distinct linear peptides, sequences of the 20 standard amino acids drawn by "
        "`matteralign.datasets.organics.peptide_sequences(150, (5, 20), seed=0)` (lengths "
        "uniform in 5–20 residues), built by `rdkit.Chem.MolFromSequence` (neutral termini), "
        "ids `pep:<sequence>`. Conformers as for nci-organics: ETKDGv3 "
        f"(randomSeed={organics.EMBED_SEED}) then MMFF94, at most {organics.FF_MAX_ITERS} "
        "iterations. Non-periodic, no cell. Regenerate: "
        "`python -m matteralign.datasets.generate --only peptides`."
    )


def _peptides(out: Path) -> list[Path]:
    from matteralign.datasets import organics

    frames, failures = organics.generate_peptides()
    return _write(out / "peptides", "peptides", frames, failures, how_made_peptides())


def _prototypes(out: Path) -> list[Path]:
    from matteralign.datasets import prototypes

    relaxed, failures, how = prototypes.generate_relaxed()
    return _write(out / "prototypes", "prototypes", relaxed, failures, how)


def _perturbed(out: Path) -> list[Path]:
    from matteralign.datasets import prototypes

    relaxed = prototypes.load_relaxed_frames(out / "prototypes" / "prototypes.xyz.xz")
    frames, how = prototypes.generate_perturbed(relaxed)
    return _write(out / "prototypes-perturbed", "prototypes-perturbed", frames, [], how)


def how_made(name: str, frames, failures=()) -> str:
    """The "how made" paragraph of set ``name``'s datasheet, given its frames and failures."""
    from matteralign.datasets import prototypes

    if name == "nci-organics":
        return how_made_nci()
    if name == "peptides":
        return how_made_peptides()
    if name == "prototypes":
        return prototypes.how_made_relaxed(len(frames) + len(failures))
    if name == "prototypes-perturbed":
        return prototypes.how_made_perturbed(len({f.info["parent"] for f in frames}))
    raise ValueError(f"no datasheet text for {name!r}")


#: How a regenerated set compares with the committed one: "bytes" (RDKit sets) or
#: "static"/"md" tolerances (CHGNet sets; see matteralign.datasets._store.TOLERANCES).
REPRODUCIBILITY = {"nci-organics": "bytes", "peptides": "bytes", "prototypes": "static",
                   "prototypes-perturbed": "md"}


def reproducibility(name: str) -> str:
    """The "Reproducibility" section of set ``name``'s datasheet ("" for unlisted sets)."""
    kind = REPRODUCIBILITY.get(name)
    return reproducibility_note(kind, name) if kind else ""


def _write(folder: Path, name: str, frames, failures, how: str) -> list[Path]:
    data = write_structures(frames, folder / f"{name}.xyz.xz")
    sheet = write_datasheet(folder / "DATASHEET.md", name, how, frames, failures,
                            reproducibility(name))
    return [data, sheet]


SETS: dict[str, Callable[[Path], list[Path]]] = {
    "nci-organics": _nci,
    "peptides": _peptides,
    "prototypes": _prototypes,
    "prototypes-perturbed": _perturbed,  # reads prototypes: keep it after them
}


def generate(names=None, out: Path | None = None, log=print) -> list[Path]:
    """Regenerate the sets ``names`` (default: all, in dependency order) under ``out``.

    Returns:
        The files written.
    """
    from matteralign.datasets.prototypes import _set_threads

    _set_threads()
    out = Path(out) if out is not None else data_dir()
    names = list(SETS) if not names else [n for n in SETS if n in names]
    written: list[Path] = []
    for name in names:
        t0 = time.perf_counter()
        log(f"==> [datasets] generating {name} into {out / name}")
        written += SETS[name](out)
        log(f"    done in {time.perf_counter() - t0:.0f} s")
    return written


def check_file(fresh: Path, committed: Path) -> tuple[bool, list[str]]:
    """Compare one regenerated file with its committed copy.

    Returns:
        ``(accepted, lines)``: accepted when the bytes are identical or, for structure files
        (``*.xyz*``), when :func:`~matteralign.datasets._store.compare_structures` finds no
        exact mismatch and every largest deviation within its tolerance; ``lines`` say which
        and give the largest deviation per quantity.
    """
    if not committed.exists():
        return False, [f"DIFFERS: {committed} is missing"]
    same = filecmp.cmp(fresh, committed, shallow=False)
    if ".xyz" not in fresh.name:
        return same, ["byte-identical"] if same else ["DIFFERS: text differs"]
    comparison = compare_structures(read_structures(fresh), read_structures(committed))
    ok = same or comparison.ok
    head = ("byte-identical" if same else
            "not byte-identical, within tolerance" if ok else "DIFFERS: beyond tolerance")
    return ok, [head] + ["  " + line for line in comparison.report()]


def main(argv=None) -> int:
    """Command line entry point; ``--check`` exits 1 if a regenerated file is neither
    byte-identical nor, for structure files, within the stated tolerances."""
    parser = argparse.ArgumentParser(prog="python -m matteralign.datasets.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SETS), help="sets to generate")
    parser.add_argument("--out", type=Path, default=None, help="data root (default: data/)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and compare with the data root "
                             "(byte-identical, or within stated tolerances for structure files)")
    args = parser.parse_args(argv)
    root = args.out or data_dir()
    if not args.check:
        generate(args.only, root)
        return 0
    bad = 0
    names = [n for n in SETS if not args.only or n in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            # each set is checked from the committed inputs: the perturbed set starts from
            # the committed relaxed prototypes, so a relaxation's last-digit differences are
            # checked once (in prototypes), not compounded by 100 MD steps
            here = Path(tmp) / name
            if name == "prototypes-perturbed":
                src = root / "prototypes" / "prototypes.xyz.xz"
                (here / "prototypes").mkdir(parents=True)
                (here / "prototypes" / src.name).write_bytes(src.read_bytes())
            for f in generate([name], here):
                rel = f.relative_to(here)
                ok, lines = check_file(f, root / rel)
                bad += not ok
                print(f"{rel}: {lines[0]}", file=sys.stdout if ok else sys.stderr)
                for line in lines[1:]:
                    print(line)
    print("all files byte-identical or within tolerance" if not bad
          else f"{bad} file(s) differ beyond tolerance")
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
