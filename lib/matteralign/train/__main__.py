"""``python -m matteralign.train <config.toml | ladder/rung>``: train one ladder rung — of the
QM9 ladder (``qm9/<rung>``) or of the materials students (``materials/<rung>``,
:mod:`matteralign.train.students`).

Writes ``<out>/<ladder>/<rung>/{model.pt, config.toml, metrics.json}`` (each atomically;
``metrics.json`` last, so a folder with it is complete), where ``<out>`` is
``data/models`` by default (``$MATTERALIGN_MODELS`` or ``--out`` elsewhere). When the folder
(or the committed ``data/models`` one) already has a ``metrics.json``, the new held-out MAEs
are compared with it and the difference is printed. ``--write-configs DIR`` writes the
configs of the whole QM9 ladder instead; ``--list`` lists the rungs of both ladders with an
estimate of their CPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from matteralign.errors import MatteralignError, ValidationError

PROG = "python -m matteralign.train"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train one rung of a matteralign model ladder (QM9, or "
                "the materials students).")
    p.add_argument("config", nargs="?", help="a rung config (.toml), or <ladder>/<rung> of a "
                   "generated ladder, e.g. qm9/schnet-n2000-w64-s0 or "
                   "materials/student-n300-w32-s0")
    p.add_argument("--out", type=Path, default=None,
                   help="models folder (default: $MATTERALIGN_MODELS or data/models)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--write-configs", type=Path, metavar="DIR",
                   help="write the configs of the QM9 ladder to DIR/<rung>.toml and exit")
    p.add_argument("--list", action="store_true",
                   help="list the rungs of the QM9 and materials ladders with their estimated "
                        "CPU time and exit")
    return p


def _load_config(path: Path):
    """A QM9 rung config, or a materials student's (``architecture = "schnet-pbc"``)."""
    from matteralign.train.config import load_config
    from matteralign.train.students import ARCHITECTURE, StudentConfig

    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}  # load_config reports it
        if data.get("architecture") == ARCHITECTURE:
            return StudentConfig.from_dict(data, source=f"student config {path}")
    return load_config(path)


def resolve_config(spec: str):
    """A config from a TOML path, or from ``<ladder>/<rung>`` of :func:`ladder_configs` or
    (ladder ``materials``) :func:`~matteralign.train.students.student_configs`."""
    from matteralign.errors import unknown_name
    from matteralign.train.config import ladder_configs
    from matteralign.train.students import LADDER, student_configs

    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        return _load_config(path)
    ladder, _, rung = spec.partition("/")
    if not rung:
        raise ValidationError(f"{spec!r} is neither a .toml file nor <ladder>/<rung>")
    if ladder == LADDER:
        rungs = {c.rung: c for c in student_configs()}
    else:
        rungs = {c.rung: c for c in ladder_configs(ladder)}
    if rung not in rungs:
        raise unknown_name(f"{ladder} rung", rung, list(rungs))
    return rungs[rung]


def _compare(new: dict, old: dict) -> list[str]:
    lines = []
    for key, label in (("test_mae", ""), ("dft_mae", "vs DFT ")):
        for t, v in new.get(key, {}).items():
            ref = old.get(key, {}).get(t)
            unit = new["units"][t]
            if ref is None:
                lines.append(f"  {label}{t}: {v:.5g} {unit} (no committed value)")
            else:
                rel = (v - ref) / ref * 100 if ref else float("nan")
                lines.append(f"  {label}{t}: {v:.5g} {unit}, committed {ref:.5g} "
                             f"(difference {v - ref:+.3g} {unit}, {rel:+.1f}%)")
    return lines


def write_rung(rung, folder: Path) -> dict:
    """Write model.pt, config.toml and metrics.json of a trained rung into ``folder``."""
    from matteralign.io import atomic_path
    from matteralign.train import loop, students
    from matteralign.train.loop import file_sha256

    save = students.save_checkpoint if isinstance(rung, students.TrainedStudent) else loop.save_checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.pt") as tmp:
        save(rung, tmp)
    with atomic_path(folder / "config.toml") as tmp:
        tmp.write_text(rung.config.to_toml(), encoding="utf-8")
    metrics = {**rung.metrics, "model_sha256": file_sha256(folder / "model.pt")}
    with atomic_path(folder / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except MatteralignError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from matteralign.models.ladder import models_root
    from matteralign.train import students
    from matteralign.train.config import ladder_configs
    from matteralign.train.loop import train

    if args.list:
        from matteralign.train.config import estimate_cpu_seconds

        for configs, estimate in ((ladder_configs(), estimate_cpu_seconds),
                                  (students.student_configs(), students.estimate_cpu_seconds)):
            total = 0.0
            for c in configs:
                seconds = estimate(c)
                total += seconds
                done = (models_root() / c.ladder / c.rung / "metrics.json").is_file()
                print(f"{c.ladder}/{c.rung:<26} ≤ {seconds / 60:5.1f} CPU min  "
                      f"{'trained' if done else 'to train'}")
            print(f"{configs[0].ladder}: {len(configs)} rungs, ≤ {total / 3600:.2f} CPU hours at "
                  f"the epoch caps (one thread each; two rungs at a time on 2 cores)")
        return 0
    if args.write_configs is not None:
        from matteralign.io import atomic_path

        configs = ladder_configs()
        for c in configs:
            with atomic_path(args.write_configs / f"{c.rung}.toml") as tmp:
                tmp.write_text(c.to_toml(), encoding="utf-8")
        print(f"wrote {len(configs)} rung configs to {args.write_configs}")
        return 0
    if not args.config:
        raise ValidationError("give a rung config (.toml) or <ladder>/<rung> (see --help)")
    if args.threads < 1:
        raise ValidationError(f"--threads must be at least 1; got {args.threads}")
    config = resolve_config(args.config)
    out = args.out if args.out is not None else models_root()
    folder = out / config.ladder / config.rung
    committed = None
    for candidate in (folder / "metrics.json", models_root() / config.ladder / config.rung
                      / "metrics.json"):
        if candidate.is_file():
            try:
                committed = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                committed = None
            break
    is_student = isinstance(config, students.StudentConfig)
    fit = students.train_student if is_student else train
    rung = fit(config, progress=not args.no_progress, threads=args.threads)
    metrics = write_rung(rung, folder)
    print(f"{config.model_name}: {metrics['epochs_run']} epochs (best {metrics['best_epoch']}), "
          f"{metrics['train_seconds']:.1f} s training, {metrics['seconds_per_epoch']:.2f} s/epoch; "
          f"held-out MAE on {metrics['test_size']} {'structures' if is_student else 'molecules'}"
          + (f" (vs DFT: {metrics['dft_size']} mptrj-random structures)" if is_student else "")
          + ":")
    print("\n".join(_compare(metrics, committed or {})))
    print(f"wrote {folder}/model.pt, config.toml, metrics.json")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
