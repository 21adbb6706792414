"""``matteralign align``: the alignment tensor of cached embeddings.

Reads Embeddings files (netCDF written by :func:`matteralign.io.save`: one model per file,
or a collection from :func:`matteralign.tensors.collect`), computes every requested metric
for every pair of models with :func:`matteralign.metrics.align` and writes the tensor
atomically to ``--out``.

Everything that can be checked is checked before the metrics are computed: ``--out`` must
be a writable file path, ``-k`` and ``--info-imbalance-k`` positive (exit 2) and smaller
than the number of samples, every input an Embeddings file (an alignment tensor written by
this command is recognised and refused), and all inputs must hold the same sample ids in
the same order (``--reorder`` puts them in the order of the first input).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import xarray as xr

from matteralign._cli import check_output_file, positive_int
from matteralign.errors import ValidationError


def register(sub) -> None:
    from matteralign.metrics.align import ALIGN_METRICS

    p = sub.add_parser(
        "align", help="compute the alignment tensor (metric, model_a, model_b) of embeddings",
        description="Compute every metric between every pair of models over the same samples "
        "and write the alignment tensor to a netCDF file.")
    p.add_argument("inputs", nargs="+", type=Path,
                   help="Embeddings netCDF files (one model each, or a collection)")
    p.add_argument("--out", "-o", type=Path, required=True, help="output netCDF file")
    p.add_argument("--metrics", nargs="+", default=list(ALIGN_METRICS), choices=ALIGN_METRICS,
                   metavar="METRIC", help=f"metrics to compute (default: all of {', '.join(ALIGN_METRICS)})")
    p.add_argument("-k", "--k", type=positive_int, default=25,
                   help="neighbours for CKNNA / mutual kNN")
    p.add_argument("--kernel", choices=("cosine", "euclidean"), default="cosine",
                   help="kNN metric for CKNNA / mutual kNN (cosine: L2-normalised rows)")
    p.add_argument("--cka-debiased", action="store_true", help="unbiased-HSIC CKA")
    p.add_argument("--dcor-bias-corrected", action="store_true",
                   help="bias-corrected distance correlation")
    p.add_argument("--info-imbalance-k", type=positive_int, default=1,
                   help="neighbours for information imbalance")
    p.add_argument("--reorder", action="store_true",
                   help="inputs holding the same samples in different orders are put in the "
                        "order of the first input")
    p.add_argument("--float64", action="store_true", help="float64 kNN matmul (slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _read(paths: list[Path]) -> dict[str, xr.DataArray]:
    from matteralign import io

    models: dict[str, xr.DataArray] = {}
    for path in paths:
        obj = io.load(path)
        items = [obj[v] for v in obj.data_vars] if isinstance(obj, xr.Dataset) else [obj]
        for da in items:
            if "model_a" in da.dims or "metric" in da.dims:
                raise ValidationError(
                    f"{path} is an alignment tensor (written by `matteralign align`), not "
                    "embeddings; give the Embeddings files written by `matteralign embed`")
            if "sample" not in da.dims or da.ndim != 2:
                raise ValidationError(
                    f"{path} does not hold Embeddings (dims (sample, feature)); its variable "
                    f"{da.name!r} has dims {tuple(map(str, da.dims))}")
            name = str(da.attrs.get("model", da.name))
            if name in models:
                raise ValidationError(f"model {name!r} appears twice (again in {path})")
            feat = [d for d in da.dims if d != "sample"]
            if len(feat) == 1 and feat[0] != "feature":
                da = da.rename({feat[0]: "feature"})
            models[name] = da
    return models


def _same_samples(models: dict[str, xr.DataArray], reorder: bool) -> dict[str, xr.DataArray]:
    """Every model over the first one's sample ids, in its order (``reorder``), or an error
    that tells CLI users what to do."""
    names = list(models)
    if not names:
        raise ValidationError("the inputs hold no embeddings")
    first = names[0]
    ids = [str(i) for i in models[first]["sample"].values]
    out = {first: models[first]}
    for name in names[1:]:
        other = [str(i) for i in models[name]["sample"].values]
        if other == ids:
            out[name] = models[name]
            continue
        if sorted(other) == sorted(ids):
            if not reorder:
                row = next(i for i, (a, b) in enumerate(zip(ids, other, strict=True)) if a != b)
                raise ValidationError(
                    f"{first} and {name} hold the same {len(ids)} samples in a different order "
                    f"(row {row}: {ids[row]!r} vs {other[row]!r}); add --reorder to put every "
                    f"input in the order of the first")
            out[name] = models[name].sel(sample=models[first]["sample"].values)
            continue
        only_a, only_b = sorted(set(ids) - set(other)), sorted(set(other) - set(ids))
        raise ValidationError(
            f"{first} and {name} were embedded on different samples ({len(only_a)} only in "
            f"{first}, e.g. {only_a[:2]}; {len(only_b)} only in {name}, e.g. {only_b[:2]}); "
            "embed both with the same --dataset, --n and --seed")
    return out


def _check_k(args: argparse.Namespace, n: int) -> None:
    """Neighbour counts must be smaller than the number of samples (self is excluded)."""
    checks = []
    if {"cknna", "mutual_knn"} & set(args.metrics):
        checks.append(("-k", args.k))
    if "info_imbalance" in args.metrics:
        checks.append(("--info-imbalance-k", args.info_imbalance_k))
    for flag, k in checks:
        if k >= n:
            raise ValidationError(
                f"{flag} {k} must be smaller than the number of samples ({n}); use at most "
                f"{flag} {n - 1}")


def run(args: argparse.Namespace) -> int:
    from matteralign import io
    from matteralign.metrics.align import align

    check_output_file(args.out, "--out")
    models = _same_samples(_read(list(args.inputs)), args.reorder)
    _check_k(args, next(iter(models.values())).sizes["sample"])
    tensor = align(models, metrics=tuple(args.metrics), k=args.k, kernel=args.kernel,
                   cka_debiased=args.cka_debiased, dcor_bias_corrected=args.dcor_bias_corrected,
                   info_imbalance_k=args.info_imbalance_k,
                   dtype="float64" if args.float64 else "float32",
                   progress=not args.no_progress)
    io.save(tensor, args.out)
    print(f"wrote {args.out}: {len(tensor.metric)} metrics x {len(models)} models "
          f"over {tensor.attrs['n_samples']} samples")
    return 0
