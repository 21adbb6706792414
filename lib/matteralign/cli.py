"""Command line: ``python -m matteralign`` (also installed as ``matteralign``).

Subcommands (each lives in its own module under ``matteralign/_cli/`` and registers itself
through a ``register(subparsers)`` function):

``models``    list registered models with their metadata and availability
``datasets``  list registered datasets with sizes and roles
``embed``     extract (and cache) one model's embeddings of one dataset
``align``     compute the alignment tensor between cached embeddings
``report``    execute the notebooks with papermill and rebuild the figure gallery

Bad arguments and unknown subcommands print a single ``matteralign: error: ...`` line and
exit with status 2; errors raised by the library (unknown model, missing weights, bad data)
print one line and exit with status 1. Every flag and output path is checked before any
work starts. Warnings (a failing plugin, a discarded cache file) are one
``matteralign: warning: ...`` line each.

Models and datasets of installed plugins (entry points in the group
``matteralign.plugins``, see :mod:`matteralign.plugins`) are loaded when the CLI starts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from matteralign._version import __version__
from matteralign.errors import MatteralignError

SUBCOMMANDS = ("models", "datasets", "embed", "align", "report")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="matteralign",
        description="Alignment of representations of matter across scientific ML models "
        "(reproducing arXiv 2512.03750).",
    )
    parser.add_argument("--version", action="version", version=f"matteralign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"matteralign._cli.{name}").register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    print(f"matteralign: warning: {text}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from matteralign import plugins

    try:
        plugins.load()
        return int(args.func(args) or 0)
    except MatteralignError as exc:
        print(f"matteralign {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"matteralign {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
