"""``matteralign report``: run the notebooks with papermill, print a summary, rebuild the
figure gallery.

    matteralign report --run                          # every notebook, defaults
    matteralign report --run --notebook 02 -p k 10    # one notebook, one override
    matteralign report                                # last runs' summary + gallery
"""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="execute the notebooks with papermill and rebuild figures/README.md",
        description="Execute notebooks (papermill) and rebuild the figure gallery. Exits 1 "
        "if any notebook failed.")
    p.add_argument("--run", action="store_true",
                   help="execute notebooks (without it: summarise the last runs)")
    p.add_argument("--notebook", action="append", default=None, metavar="NAME",
                   help="notebook stem or unique prefix (repeatable; default: all)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   dest="parameters", help="papermill parameter override, e.g. -p k 10")
    p.add_argument("--output", default="figures", metavar="DIR",
                   help="output root (default: figures/)")
    p.add_argument("--list", action="store_true", help="list the notebooks and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from matteralign import compendium

    if args.list:
        for stem in compendium.list_notebooks():
            print(stem)
        return 0
    from matteralign._cli import check_output_dir

    check_output_dir(args.output, "--output")
    if args.run:
        params = compendium.parse_parameters(args.parameters)
        results = compendium.run_all(args.notebook, params, output_root=args.output,
                                     log=lambda line: print(line, flush=True))
    else:
        results = compendium.read_runs(args.output)
        if args.notebook:
            names = {compendium._resolve(n, compendium.list_notebooks()) for n in args.notebook}
            results = [r for r in results if r.notebook in names]
        compendium.write_gallery(args.output)
        compendium.write_claims(args.output)
    print()
    print(compendium.summary_table(results))
    gallery = f"{args.output.rstrip('/')}/README.md"
    print(f"gallery: {gallery}")
    print(f"claims:  {args.output.rstrip('/')}/CLAIMS.md")
    failed = [r.notebook for r in results if r.status != "ok"]
    if failed:
        print(f"matteralign report: {len(failed)} notebook(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0
