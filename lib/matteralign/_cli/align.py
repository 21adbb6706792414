"""``matteralign align``: the alignment tensor of cached embeddings.

Reads Embeddings files (netCDF written by :func:`matteralign.io.save`: one model per file,
or a collection from :func:`matteralign.tensors.collect`), computes every requested metric
for every pair of models with :func:`matteralign.metrics.align` and writes the tensor
atomically to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import xarray as xr

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
    p.add_argument("-k", "--k", type=int, default=25, help="neighbours for CKNNA / mutual kNN")
    p.add_argument("--kernel", choices=("cosine", "euclidean"), default="cosine",
                   help="kNN metric for CKNNA / mutual kNN (cosine: L2-normalised rows)")
    p.add_argument("--cka-debiased", action="store_true", help="unbiased-HSIC CKA")
    p.add_argument("--dcor-bias-corrected", action="store_true",
                   help="bias-corrected distance correlation")
    p.add_argument("--info-imbalance-k", type=int, default=1,
                   help="neighbours for information imbalance")
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
            name = str(da.attrs.get("model", da.name))
            if name in models:
                raise ValidationError(f"model {name!r} appears twice (again in {path})")
            feat = [d for d in da.dims if d != "sample"]
            if len(feat) == 1 and feat[0] != "feature":
                da = da.rename({feat[0]: "feature"})
            models[name] = da
    return models


def run(args: argparse.Namespace) -> int:
    from matteralign import io
    from matteralign.metrics.align import align

    models = _read(list(args.inputs))
    tensor = align(models, metrics=tuple(args.metrics), k=args.k, kernel=args.kernel,
                   cka_debiased=args.cka_debiased, dcor_bias_corrected=args.dcor_bias_corrected,
                   info_imbalance_k=args.info_imbalance_k,
                   dtype="float64" if args.float64 else "float32",
                   progress=not args.no_progress)
    io.save(tensor, args.out)
    print(f"wrote {args.out}: {len(tensor.metric)} metrics x {len(models)} models "
          f"over {tensor.attrs['n_samples']} samples")
    return 0
