"""``matteralign embed``: extract (and cache) embeddings of datasets with models, with a
progress bar, batches, a device, Dask workers, and resumption.

``--model`` and ``--dataset`` may repeat. ``--model all-offline`` means every model whose
weights are here and that applies to the dataset's domain; ``--dataset all-shipped`` every
dataset whose files ship with the repository or a package. Results land under
``data/embeddings/`` (or ``--cache-dir``), keyed by model, dataset, layer, pooling, model and
dataset version and the subset; rerunning after an interruption keeps the finished chunks.
With several models or datasets a failure is reported and the rest still run (exit 1).

Flags and paths are checked before any dataset is loaded: counts must be positive (exit 2),
``--cache-dir`` a writable folder and ``--weights`` an existing file (exit 1). ``--n`` larger
than a dataset is not an error: the whole dataset is embedded and a one-line note on stderr
says how many samples there are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matteralign._cli import check_output_dir, positive_int
from matteralign.errors import MatteralignError, MissingWeightsError, ValidationError

ALL_OFFLINE = "all-offline"
ALL_SHIPPED = "all-shipped"


def register(sub) -> None:
    p = sub.add_parser(
        "embed",
        help="extract and cache embeddings of datasets",
        description="Extract one vector per sample with each model and cache it under "
        "data/embeddings/<dataset>/<model>/. Interrupted runs resume from finished chunks.",
    )
    p.add_argument("--model", action="append", required=True, metavar="NAME",
                   help=f"registry name (repeatable), or {ALL_OFFLINE!r} for every model with weights "
                        "here that applies to the dataset")
    p.add_argument("--dataset", action="append", required=True, metavar="NAME",
                   help=f"registered dataset name (repeatable), or {ALL_SHIPPED!r} for every shipped dataset")
    p.add_argument("--n", type=positive_int, default=None,
                   help="deterministic subset of N samples (all of them, with a note, when the "
                        "dataset has fewer)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset permutation (default 0)")
    p.add_argument("--layer", default="last", help="hidden layer (default: last); see `matteralign models --json`")
    p.add_argument("--pooling", default=None, choices=["mean", "sum", "max", "cumulants", "none"],
                   help="pooling over atoms/tokens (default: mean; 'none' for per-structure descriptors)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="samples per forward pass")
    p.add_argument("--chunk-size", type=positive_int, default=256,
                   help="samples per cached chunk (default 256)")
    p.add_argument("--weights", default=None, metavar="PATH", help="custom checkpoint for the model")
    par = p.add_mutually_exclusive_group()
    par.add_argument("--workers", type=positive_int, default=None,
                     help="run on a local Dask cluster of N workers")
    par.add_argument("--scheduler", default=None, metavar="ADDR", help="run on the Dask scheduler at ADDR")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="cache root (default data/embeddings)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _dataset_names(requested: list[str]) -> list[str]:
    from matteralign import datasets

    out: list[str] = []
    for name in requested:
        if name == ALL_SHIPPED:
            if not hasattr(datasets, "names"):
                raise MatteralignError("the dataset registry is not available in this installation")
            chosen = [n for n in datasets.names() if datasets.info(n).shipped]
        else:
            chosen = [name]
        out.extend(n for n in chosen if n not in out)
    return out


def _model_names(requested: list[str], domain: str) -> list[str]:
    from matteralign.models import registry

    out: list[str] = []
    for name in requested:
        chosen = registry.offline_names(domain=domain or None) if name == ALL_OFFLINE else [name]
        if name != ALL_OFFLINE:
            registry.entry(name)  # unknown names fail before any work starts
        out.extend(n for n in chosen if n not in out)
    return out


def run(args) -> int:
    from matteralign.models.extract import cache_path, default_cache_dir, extract, load_dataset

    if args.weights and (len(args.model) != 1 or args.model[0] == ALL_OFFLINE):
        raise ValidationError("--weights applies to exactly one --model")
    if args.weights and not Path(args.weights).expanduser().is_file():
        raise MissingWeightsError(f"--weights {args.weights}: no such file")
    check_output_dir(args.cache_dir or default_cache_dir(), "--cache-dir")
    for name in args.model:
        if name != ALL_OFFLINE:
            _model_names([name], "")
    dataset_names = _dataset_names(args.dataset)
    single = len(dataset_names) == 1 and ALL_OFFLINE not in args.model and len(args.model) == 1
    layer = int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer
    failures = runs = 0
    for dname in dataset_names:
        try:
            ds = load_dataset(dname, n=args.n, seed=args.seed)
            if args.n is not None and len(ds) < args.n:
                print(f"matteralign embed: note: dataset {dname!r} has only {len(ds)} samples; "
                      f"--n {args.n} embeds all {len(ds)}", file=sys.stderr)
            names = _model_names(args.model, ds.info.domain)
            if not names:
                raise ValidationError(f"no model with weights here applies to dataset {dname!r}")
        except MatteralignError as exc:
            if single:
                raise
            failures += 1
            print(f"matteralign embed: {dname}: error: {exc}", file=sys.stderr)
            continue
        for name in names:
            runs += 1
            try:
                emb = extract(name, ds, layer=layer, pooling=args.pooling, cache_dir=args.cache_dir,
                              chunk_size=args.chunk_size, batch_size=args.batch_size,
                              device=args.device, weights=args.weights, scheduler=args.scheduler,
                              workers=args.workers, progress=not args.no_progress)
            except MatteralignError as exc:
                if single:
                    raise
                failures += 1
                print(f"matteralign embed: {dname} / {name}: error: {exc}", file=sys.stderr)
                continue
            where = cache_path(args.cache_dir or default_cache_dir(), emb.attrs["model"], ds.name,
                               emb.attrs["layer"], emb.attrs["pooling"], emb.attrs["model_version"],
                               ds.version, list(emb["sample"].values),
                               content=emb.attrs["content_digest"])
            print(f"{dname} / {name}: {emb.sizes['sample']} samples x {emb.sizes['feature']} features "
                  f"-> {where / 'embeddings.nc'}")
    if failures:
        print(f"matteralign embed: {failures} failure(s) ({runs} extractions attempted)", file=sys.stderr)
        return 1
    return 0
