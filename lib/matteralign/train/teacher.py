"""The materials students' training data: shipped and generated crystals labelled with
energies and forces by the strongest shipped MLIP (the teacher, :data:`TEACHER`).

``python -m matteralign.train.teacher`` builds the pool, labels it and writes
``data/students/teacher-labels.xyz.xz`` with its ``DATASHEET.md``. Labelling is resumable:
it runs in chunks of :data:`CHUNK` structures, each written atomically to
``data/cache/teacher-labels/`` as soon as it is labelled, and a rerun labels only the
chunks that are missing; the final file is assembled from the chunks.

The teacher. ``sevennet-l3i5`` has the lowest force MAE against DFT of the MLIPs that
notebook 03 measures (0.0288 eV/Å on 200 mptrj-random structures,
``figures/03_alignment_vs_performance/errors.csv``). It is run through its ASE calculator
(:func:`matteralign.analysis.performance.calculator`), one structure at a time on one
torch thread.

The pool (:func:`pool_structures`), every random draw from ``default_rng([POOL_SEED, i])``
for source structure i:

* ``rattle`` / ``strain`` — one perturbed copy of each mptrj-random structure with at most
  :data:`MAX_ATOMS` atoms that is not in the DFT held-out set (even positions rattled:
  Gaussian displacements of σ ~ U(0.03, 0.10) Å per Cartesian component; odd positions
  strained: ``cell ← cell (I + ε)`` with atoms scaled along, ε symmetric, diagonal
  ``±U(0.02, 0.04)`` with random signs, off-diagonal ``U(−0.02, 0.02)``);
* the 808 ``prototypes-perturbed`` structures as shipped (rattles, strains and 1000 K MD
  snapshots of the 242 CHGNet-relaxed prototypes);
* ``dft`` — the 200 mptrj-random structures of ``datasets.load("mptrj-random", n=200,
  seed=0)`` as shipped: the DFT held-out set, the same structures on which notebook 03
  measures every MLIP's error. They are never trained on.

Split (``info["split"]``), by parent so that no copy of a test or validation structure's
parent is trained on: parents (an mptrj frame, a prototype) are permuted under
:data:`POOL_SEED` and taken in turn into ``test`` until it holds :data:`TEST_SIZE`
structures, then ``val`` (:data:`VAL_SIZE`), the rest ``train``.

Every frame stores the teacher's total energy ``teacher_energy`` (eV, in ``info``) and
forces ``teacher_forces`` (eV/Å, per atom), computed on the positions as written (rounded
to 1e-6 Å before labelling).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matteralign.errors import CorruptFileError, MatteralignError, MissingDataError

__all__ = ["TEACHER", "POOL_SEED", "MAX_ATOMS", "TEST_SIZE", "VAL_SIZE", "CHUNK", "labels_path",
           "pool_structures", "label_pool", "read_labels", "main"]

TEACHER = "sevennet-l3i5"
POOL_SEED = 20251213
MAX_ATOMS = 64
TEST_SIZE = 150
VAL_SIZE = 100
CHUNK = 50
DFT_HELD_OUT = ("mptrj-random", 200, 0)  # datasets.load(name, n, seed): notebook 03's error set
SPLITS = ("dft", "test", "val", "train")


def labels_path(root: str | Path | None = None) -> Path:
    """``<data root>/students/teacher-labels.xyz.xz``."""
    from matteralign.datasets._paths import data_dir

    return Path(root if root is not None else data_dir()) / "students" / "teacher-labels.xyz.xz"


def _rattle(atoms, rng):
    sigma = float(rng.uniform(0.03, 0.10))
    out = atoms.copy()
    out.positions = out.positions + rng.normal(0.0, sigma, size=out.positions.shape)
    return out, "rattle", sigma


def _strain(atoms, rng):
    eps = np.diag(rng.choice([-1.0, 1.0], size=3) * rng.uniform(0.02, 0.04, size=3))
    off = rng.uniform(-0.02, 0.02, size=3)
    eps[0, 1] = eps[1, 0] = off[0]
    eps[0, 2] = eps[2, 0] = off[1]
    eps[1, 2] = eps[2, 1] = off[2]
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + eps), scale_atoms=True)
    return out, "strain", float(np.abs(eps).max())


def _frame(atoms, sid: str, parent: str, kind: str, amplitude: float):
    from matteralign.datasets._store import round_atoms

    out = round_atoms(atoms)
    out.info = {"id": sid, "parent": parent, "kind": kind, "amplitude": round(amplitude, 6)}
    return out


def pool_structures() -> list:
    """The unlabelled pool (module docstring) as ``ase.Atoms`` with ``info`` ``id``,
    ``parent``, ``kind``, ``amplitude`` (σ in Å, the largest strain component, or the
    shipped set's amplitude, 0 for MD snapshots and ``dft``) and ``split``; ordered dft, test, val, train."""
    from matteralign import datasets

    name, n, seed = DFT_HELD_OUT
    held = datasets.load(name, n=n, seed=seed)
    held_ids = set(held.ids)
    frames = [_frame(s.atoms, s.id, s.id, "dft", 0.0) for s in held]
    for f in frames:
        f.info["split"] = "dft"
    pool = []
    candidates = [s for s in datasets.load(name) if s.id not in held_ids
                  and len(s.atoms) <= MAX_ATOMS]
    for i, s in enumerate(candidates):
        rng = np.random.default_rng([POOL_SEED, i])
        atoms, kind, amp = (_rattle if i % 2 == 0 else _strain)(s.atoms, rng)
        pool.append(_frame(atoms, f"{s.id}:{kind}", s.id, kind, amp))
    for s in datasets.load("prototypes-perturbed"):
        pool.append(_frame(s.atoms, s.id, str(s.labels["parent"]), str(s.labels["kind"]),
                           float(s.labels.get("amplitude", 0.0))))  # MD snapshots: none
    parents = sorted({f.info["parent"] for f in pool})
    order = np.random.default_rng(POOL_SEED).permutation(len(parents))
    by_parent: dict[str, list] = {}
    for f in pool:
        by_parent.setdefault(f.info["parent"], []).append(f)
    split = {"test": [], "val": [], "train": []}
    for k in order:
        group = by_parent[parents[k]]
        target = ("test" if len(split["test"]) < TEST_SIZE else
                  "val" if len(split["val"]) < VAL_SIZE else "train")
        for f in group:
            f.info["split"] = target
        split[target].extend(group)
    return frames + split["test"] + split["val"] + split["train"]


def _chunk_dir(root: Path) -> Path:
    return root / "cache" / "teacher-labels"


def _label_chunk(frames: Sequence, calc) -> tuple[list, float, float]:
    t, c = time.perf_counter(), time.process_time()
    out = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        energy = float(a.get_potential_energy())
        forces = np.asarray(a.get_forces(), dtype=float)
        a.calc = None
        a.info = dict(atoms.info, teacher_energy=energy)
        a.arrays["teacher_forces"] = forces
        out.append(a)
    return out, time.perf_counter() - t, time.process_time() - c


def label_pool(root: str | Path | None = None, *, limit: int | None = None,
               progress: bool = True, log=print) -> Path:
    """Label the pool with :data:`TEACHER` (resumable, module docstring) and write
    :func:`labels_path` and its datasheet. ``limit`` labels only the first structures (a
    quick check; the final file is then not written). Returns the labels file (or the
    chunk folder with ``limit``)."""
    from tqdm.auto import tqdm

    from matteralign.analysis.performance import calculator
    from matteralign.datasets._paths import data_dir
    from matteralign.datasets._store import read_structures, write_structures
    from matteralign.io import atomic_path
    from matteralign.models._weights import torch_threads

    root = Path(root if root is not None else data_dir())
    frames = pool_structures()
    if limit is not None:
        frames = frames[:limit]
    chunks = [frames[i:i + CHUNK] for i in range(0, len(frames), CHUNK)]
    folder = _chunk_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    calc = None
    labelled, timing = [], []
    bar = tqdm(total=len(frames), desc=f"labelling with {TEACHER}", unit="structure",
               disable=not progress)
    try:
        for k, chunk in enumerate(chunks):
            path, meta = folder / f"chunk-{k:04d}.xyz.xz", folder / f"chunk-{k:04d}.json"
            ids = [f.info["id"] for f in chunk]
            done = None
            if path.is_file() and meta.is_file():
                done = read_structures(path, "teacher-labelled structures")
                info = json.loads(meta.read_text(encoding="utf-8"))
                if [f.info["id"] for f in done] != ids or info.get("teacher") != TEACHER:
                    log(f"  {path.name} holds other structures; relabelling it")
                    done = None
            if done is None:
                if calc is None:
                    calc = calculator(TEACHER)
                with torch_threads(1):
                    done, wall, cpu = _label_chunk(chunk, calc)
                info = {"teacher": TEACHER, "ids": ids, "atoms": int(sum(len(f) for f in chunk)),
                        "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3)}
                write_structures(done, path, decimals=6)
                with atomic_path(meta) as tmp:
                    tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
                done = read_structures(path, "teacher-labelled structures")
            labelled.extend(done)
            timing.append(info)
            bar.update(len(chunk))
    finally:
        bar.close()
    if limit is not None:
        return folder
    out = labels_path(root)
    write_structures(labelled, out, decimals=6)
    _write_datasheet(out.parent / "DATASHEET.md", labelled, timing)
    log(f"wrote {out} ({len(labelled)} structures) and {out.parent / 'DATASHEET.md'}")
    return out


def read_labels(path: str | Path | None = None) -> list:
    """The labelled pool (``ase.Atoms`` with ``info['teacher_energy']``,
    ``arrays['teacher_forces']`` and ``info['split']``).

    Raises:
        MissingDataError: the file is absent (says how to make it).
        CorruptFileError: a frame without teacher labels or split.
    """
    from matteralign.datasets._store import read_structures

    p = Path(path) if path is not None else labels_path()
    if not p.is_file():
        raise MissingDataError(f"{p} not found: the materials students' teacher labels; make "
                               "them with python -m matteralign.train.teacher")
    frames = read_structures(p, "teacher-labelled structures")
    for i, f in enumerate(frames):
        if ("teacher_energy" not in f.info or "teacher_forces" not in f.arrays
                or f.info.get("split") not in SPLITS):
            raise CorruptFileError(f"{p}: frame {i} lacks teacher_energy, teacher_forces or a "
                                   f"split in {SPLITS}; regenerate it")
    return frames


def _teacher_version() -> str:
    import sevenn
    from sevenn import util

    from matteralign.models.sevenn import CHECKPOINTS
    from matteralign.train.loop import file_sha256

    path = util.pretrained_name_to_path(CHECKPOINTS[TEACHER]["key"])
    return (f"{CHECKPOINTS[TEACHER]['version']} from the sevenn {sevenn.__version__} wheel "
            f"(checkpoint {Path(path).name}, SHA-256 {file_sha256(path)[:16]}…)")


def _teacher_dft_errors(frames: Sequence) -> str:
    from matteralign import datasets
    from matteralign.analysis.performance import refit_residuals

    dft = [f for f in frames if f.info["split"] == "dft"]
    if not dft:
        return ""
    name, n, seed = DFT_HELD_OUT
    ref = {s.id: s for s in datasets.load(name, n=n, seed=seed)}
    n_atoms = np.array([len(f) for f in dft], float)
    resid = np.array([f.info["teacher_energy"] - float(ref[f.info["id"]].labels["energy"])
                      for f in dft])
    numbers = [f.numbers for f in dft]
    z = np.unique(np.concatenate(numbers))
    counts = np.array([[np.count_nonzero(nn == zi) for zi in z] for nn in numbers], float)
    refit = refit_residuals(resid, counts)
    forces = np.concatenate([np.abs(f.arrays["teacher_forces"]
                                    - np.asarray(ref[f.info["id"]].labels["forces"])) for f in dft])
    return (f"The teacher against the DFT labels of the {len(dft)} `dft` structures: energy MAE "
            f"{np.mean(np.abs(resid) / n_atoms):.4f} eV/atom raw, "
            f"{np.mean(np.abs(refit) / n_atoms):.4f} eV/atom after the cross-validated "
            f"per-element refit of `analysis.performance.refit_residuals`; force MAE "
            f"{forces.mean():.4f} eV/Å.")


def how_made() -> str:
    """The "How it was made" text of the datasheet (Markdown)."""
    return (
        f"Teacher: {_teacher_version()}, the MLIP with the lowest force MAE against DFT in "
        "notebook 03 (`figures/03_alignment_vs_performance/errors.csv`), run through its ASE "
        "calculator one structure at a time on one torch thread. Labels: `teacher_energy` "
        "(eV, total) per frame and `teacher_forces` (eV/Å) per atom, computed on the "
        "positions as written (rounded to 1e-6 Å first).\n\n"
        f"Pool (random streams `default_rng([{POOL_SEED}, i])` for source structure i): one "
        f"perturbed copy of each mptrj-random structure with at most {MAX_ATOMS} atoms outside "
        "the DFT held-out set — even positions rattled (Gaussian, σ ~ U(0.03, 0.10) Å per "
        "component), odd positions strained (cell ← cell (I + ε), atoms scaled, ε symmetric "
        "with diagonal ±U(0.02, 0.04) and off-diagonal U(−0.02, 0.02)); the 808 "
        "`prototypes-perturbed` structures as shipped (rattles, strains, 1000 K MD snapshots "
        f"of 242 prototypes); and, as the `dft` split, the {DFT_HELD_OUT[1]} structures of "
        f"`datasets.load(\"{DFT_HELD_OUT[0]}\", n={DFT_HELD_OUT[1]}, seed={DFT_HELD_OUT[2]})` "
        "(notebook 03's error set) as shipped, never trained on.\n\n"
        f"Split by parent (an mptrj frame, a prototype), parents permuted under {POOL_SEED}: "
        f"`test` until it holds {TEST_SIZE} structures, then `val` ({VAL_SIZE}), the rest "
        "`train`, so no copy of a held-out structure's parent is trained on.\n\n"
        "Regenerate (resumable, chunks of "
        f"{CHUNK} in `data/cache/teacher-labels/`): `python -m matteralign.train.teacher`.")


def _write_datasheet(path: Path, frames: Sequence, timing: Sequence[dict]) -> None:
    from collections import Counter

    from matteralign.datasets._datasheet import write_datasheet

    how = how_made()
    splits = Counter(f.info["split"] for f in frames)
    kinds = Counter((f.info["split"], f.info["kind"]) for f in frames)
    wall = sum(t["wall_seconds"] for t in timing)
    cpu = sum(t["cpu_seconds"] for t in timing)
    atoms = sum(t["atoms"] for t in timing)
    lines = ["## Splits", "", "| split | structures | atoms | kinds |", "|---|---:|---:|---|"]
    for s in SPLITS:
        n_atoms = sum(len(f) for f in frames if f.info["split"] == s)
        kk = ", ".join(f"{k} {c}" for (sp, k), c in sorted(kinds.items()) if sp == s)
        lines.append(f"| {s} | {splits[s]} | {n_atoms} | {kk} |")
    e = np.array([f.info["teacher_energy"] / len(f) for f in frames])
    fm = np.concatenate([np.abs(f.arrays["teacher_forces"]).ravel() for f in frames])
    lines += ["", "## Labels", "",
              f"Teacher energy per atom: mean {e.mean():.3f}, sd {e.std():.3f} eV/atom; "
              f"|force component|: mean {fm.mean():.3f}, 99th percentile "
              f"{np.quantile(fm, 0.99):.3f} eV/Å.", "", _teacher_dft_errors(frames), "",
              "## Labelling cost", "",
              f"{atoms} atoms in {len(frames)} structures: {cpu:.0f} CPU s ({wall:.0f} s wall) on "
              f"one torch thread, {atoms / max(cpu, 1e-9):.1f} atoms per CPU second "
              f"({len(frames) / max(cpu, 1e-9):.2f} structures per CPU second), measured on "
              "the project's shared 2-core machine (chunk times in "
              "`data/cache/teacher-labels/*.json` while they exist)."]
    write_datasheet(path, "students/teacher-labels", how, frames, extra="\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m matteralign.train.teacher",
                                description=f"Label the materials students' pool with {TEACHER}.")
    p.add_argument("--root", type=Path, default=None, help="data root (default: data/)")
    p.add_argument("--limit", type=int, default=None, help="label only the first N structures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        label_pool(args.root, limit=args.limit, progress=not args.no_progress)
    except MatteralignError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
