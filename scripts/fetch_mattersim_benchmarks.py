"""Re-derive data/mattersim_benchmarks/ from the mattersim 1.2.3 source distribution.

The sdist on PyPI carries MatterSim's DFT-labelled benchmark sets as extended XYZ under
``data/benchmarks/``. This script downloads the sdist with pip (or takes one given with
``--sdist``), checks its sha256, extracts the six ``.xyz`` files, compresses each with xz
(preset 9, CRC64; deterministic) and writes ``PROVENANCE.md`` with the sha256 of the sdist,
of each original file and of each compressed file.

    python scripts/fetch_mattersim_benchmarks.py            # pip download into a temp dir
    python scripts/fetch_mattersim_benchmarks.py --sdist /tmp/mattersim-1.2.3.tar.gz

Building the sdist's metadata needs ``setuptools_scm``, ``numpy`` and ``cython`` in the
Python that runs pip (``--no-build-isolation``); use a throwaway venv if they are missing.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "1.2.3"
SDIST_SHA256 = "04bc55dd97bc1170c744ae93d30d773f3d8c07d35ad3efbeb817314ec0ecb16b"
FILES = {
    "mptrj-random-1k.xyz": ("MPtrj", "CC-BY-4.0", "Deng et al. 2023, Nat. Mach. Intell. 5, 1031"),
    "alexandria-random-1k.xyz": ("Alexandria", "CC-BY-4.0",
                                 "Schmidt et al. 2022, Sci. Data 9, 64"),
    "mptrj-highest-stress-1k.xyz": ("MPtrj", "CC-BY-4.0",
                                    "Deng et al. 2023, Nat. Mach. Intell. 5, 1031"),
    "mpf-TP.xyz": ("MatterSim (Microsoft), high T/P", "MIT", "Yang et al. 2024, arXiv 2405.04967"),
    "mpf-alkali-TP.xyz": ("MatterSim (Microsoft), high T/P", "MIT",
                          "Yang et al. 2024, arXiv 2405.04967"),
    "random-TP.xyz": ("MatterSim (Microsoft), random structures", "MIT",
                      "Yang et al. 2024, arXiv 2405.04967"),
}
OUT = Path(__file__).resolve().parents[1] / "data" / "mattersim_benchmarks"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(dest: Path, python: str) -> Path:
    subprocess.run([python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "--no-build-isolation", f"mattersim=={VERSION}", "-d", str(dest)], check=True)
    return dest / f"mattersim-{VERSION}.tar.gz"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="an already downloaded sdist")
    parser.add_argument("--python", default=sys.executable, help="Python whose pip downloads")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or download(Path(tmp), args.python)
        blob = sdist.read_bytes()
        if sha256(blob) != SDIST_SHA256:
            print(f"sha256 of {sdist} is {sha256(blob)}, expected {SDIST_SHA256}", file=sys.stderr)
            return 1
        args.out.mkdir(parents=True, exist_ok=True)
        rows = []
        with tarfile.open(sdist) as tar:
            for name, (source, licence, cite) in FILES.items():
                raw = tar.extractfile(f"mattersim-{VERSION}/data/benchmarks/{name}").read()
                packed = lzma.compress(raw, preset=9, format=lzma.FORMAT_XZ,
                                       check=lzma.CHECK_CRC64)
                target = args.out / f"{name}.xz"
                tmp_target = target.with_suffix(".xz.tmp")
                tmp_target.write_bytes(packed)
                tmp_target.replace(target)
                frames = raw.decode().count("Lattice=")
                rows.append(f"| `{name}.xz` | {frames} | {source} | {licence} | {cite} | "
                            f"`{sha256(raw)}` | `{sha256(packed)}` |")
                print(f"wrote {target} ({frames} frames, {len(packed)} bytes)")
            licence_text = tar.extractfile(f"mattersim-{VERSION}/LICENSE.txt").read().decode()
    (args.out / "PROVENANCE.md").write_text(PROVENANCE.format(
        version=VERSION, sdist_sha=SDIST_SHA256, rows="\n".join(rows),
        licence=licence_text.strip()))
    print(f"wrote {args.out / 'PROVENANCE.md'}")
    return 0


PROVENANCE = """# MatterSim benchmark sets: provenance

These six files are copied, unchanged except for xz compression, from the source
distribution of **mattersim {version}** on PyPI (`mattersim-{version}.tar.gz`, path
`data/benchmarks/`), sha256 of the sdist:

    {sdist_sha}

Re-derive them with `python scripts/fetch_mattersim_benchmarks.py` (downloads the sdist with
`pip download --no-deps --no-binary :all: --no-build-isolation mattersim=={version}`, checks
the hash above, extracts and compresses; byte-identical output).

Each frame is a periodic structure in extended XYZ with DFT labels: `energy` (eV, total),
`forces` (eV/Å, per atom), `stress` (3×3; the files declare `stress_unit=eV/A^3`) and the
source's own id (`mptrj_snapshot_id`, `alexandria_id` or `internal_id`).

| file | frames | source | licence | cite | sha256 (original .xyz) | sha256 (.xz) |
|---|---:|---|---|---|---|---|
{rows}

## Licences and attribution

* MPtrj (Materials Project trajectory dataset, CHGNet): CC-BY-4.0. Cite B. Deng et al.,
  "CHGNet as a pretrained universal neural network potential for charge-informed atomistic
  modelling", Nat. Mach. Intell. 5, 1031 (2023), and the Materials Project (A. Jain et al.,
  APL Mater. 1, 011002 (2013)).
* Alexandria: CC-BY-4.0. Cite J. Schmidt et al., "Machine-learning-assisted determination of
  the global zero-temperature phase diagram of materials", Adv. Mater. 35, 2210788 (2023),
  and Sci. Data 9, 64 (2022).
* The selection into benchmark sets, and the `mpf-TP`, `mpf-alkali-TP` and `random-TP`
  sets, are Microsoft's, distributed with mattersim under the MIT licence (H. Yang et al.,
  "MatterSim: a deep learning atomistic model across elements, temperatures and
  pressures", arXiv 2405.04967 (2024)):

```
{licence}
```
"""

if __name__ == "__main__":
    sys.exit(main())
