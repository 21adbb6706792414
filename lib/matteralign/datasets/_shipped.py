"""Registration of the datasets that ship with the repository (or with a package), and of
the study's real datasets that users download (registered so that ``available()`` lists
them; loading them without the files raises a ``MissingDataError`` saying what to get)."""

from __future__ import annotations

from functools import lru_cache

from matteralign.datasets import mattersim, qm9
from matteralign.datasets._paths import data_dir
from matteralign.datasets._store import read_structures
from matteralign.datasets.base import DatasetInfo, Sample
from matteralign.datasets.registry import register

MLIPS_MATERIALS = ("MPtrj", "OMat24", "Alexandria/sAlex")
GENERATED_VERSION = "1"

# ------------------------------------------------------------------ QM9

register(DatasetInfo(
    name="qm9", domain="molecules", role="in-distribution",
    description="130,831 small organic molecules (≤ 9 heavy atoms C, N, O, F), B3LYP geometries, "
                "SMILES and 15 properties",
    source="qm9pack package (Ramakrishnan et al. 2014, Sci. Data 1, 140022)", licence="CC0-1.0",
    version="2014", citation="Ramakrishnan, Dral, Rupp, von Lilienfeld, Sci. Data 1, 140022 (2014)",
    size=qm9.SIZE, representations=("atoms", "smiles"),
    in_distribution_for=("QM9", "PubChem", "ZINC", "ANI/SPICE", "OMol25"),
    out_of_distribution_for=MLIPS_MATERIALS,
), qm9.qm9_samples)

# ------------------------------------------------------------------ MatterSim benchmark sets

_MS = {
    "mptrj-random": ("in-distribution", "random MPtrj frames with DFT energy, forces, stress",
                     MLIPS_MATERIALS, (), "CC-BY-4.0"),
    "alexandria-random": ("in-distribution", "random Alexandria frames (stand-in for sAlex) with DFT "
                          "labels", MLIPS_MATERIALS, (), "CC-BY-4.0"),
    "mptrj-highest-stress": ("off-equilibrium", "the 1000 highest-stress MPtrj frames",
                             ("MPtrj", "OMat24"), (), "CC-BY-4.0"),
    "mpf-tp": ("off-equilibrium", "MatterSim high temperature/pressure frames",
               ("OMat24", "MatterSim"), ("MPtrj",), "MIT"),
    "mpf-alkali-tp": ("off-equilibrium", "MatterSim high temperature/pressure alkali frames",
                      ("OMat24", "MatterSim"), ("MPtrj",), "MIT"),
    "random-tp": ("off-equilibrium", "MatterSim random structures at high temperature/pressure",
                  ("OMat24", "MatterSim"), ("MPtrj",), "MIT"),
}
for _name, (_role, _desc, _ind, _ood, _lic) in _MS.items():
    register(DatasetInfo(
        name=_name, domain="materials", role=_role, description=_desc,
        source="mattersim 1.2.3 sdist, data/benchmarks (data/mattersim_benchmarks/PROVENANCE.md)",
        licence=_lic, version="mattersim-1.2.3", size=mattersim.SIZES[_name],
        citation="Yang et al., arXiv 2405.04967 (2024)", representations=("atoms",),
        in_distribution_for=_ind, out_of_distribution_for=_ood,
    ), (lambda n=_name: mattersim.mattersim_samples(n)))


def _group(members):
    return lambda: [s for m in members for s in mattersim.mattersim_samples(m)]


register(DatasetInfo(
    name="materials-in-distribution", domain="materials", role="in-distribution",
    description="mptrj-random + alexandria-random (2000 DFT-labelled near-equilibrium crystals)",
    source="mattersim 1.2.3 sdist", licence="CC-BY-4.0", version="mattersim-1.2.3",
    size=sum(mattersim.SIZES[m] for m in mattersim.IN_DISTRIBUTION), representations=("atoms",),
    in_distribution_for=MLIPS_MATERIALS,
), _group(mattersim.IN_DISTRIBUTION))
register(DatasetInfo(
    name="materials-off-equilibrium", domain="materials", role="off-equilibrium",
    description="mptrj-highest-stress + mpf-tp + mpf-alkali-tp + random-tp (3222 DFT-labelled)",
    source="mattersim 1.2.3 sdist", licence="CC-BY-4.0 / MIT", version="mattersim-1.2.3",
    size=sum(mattersim.SIZES[m] for m in mattersim.OFF_EQUILIBRIUM), representations=("atoms",),
    in_distribution_for=("OMat24", "MatterSim"), out_of_distribution_for=("MPtrj",),
), _group(mattersim.OFF_EQUILIBRIUM))

# ------------------------------------------------------------------ generated sets


@lru_cache(maxsize=8)
def _generated_frames(name: str) -> tuple:
    path = data_dir() / name / f"{name}.xyz.xz"
    return tuple(read_structures(path, what=f"the generated set {name!r}"))


def _generated(name: str):
    def loader() -> list[Sample]:
        out = []
        for atoms in _generated_frames(name):
            a = atoms.copy()
            meta = dict(a.info)
            a.info = {}
            sid = meta.pop("id")
            smiles = meta.pop("smiles", None)
            sequence = meta.pop("sequence", None)
            out.append(Sample(id=sid, atoms=a, smiles=smiles, sequence=sequence, labels=meta))
        return out

    return loader


_GEN_SIZES = {"prototypes": 242, "prototypes-perturbed": 808, "nci-organics": 4977,
              "peptides": 150}
for _name, _kw in {
    "prototypes": dict(
        domain="materials", role="in-distribution",
        description="decorated crystal prototypes (rock salt, perovskite, spinel, …) relaxed "
                    "with CHGNet 0.3.0", representations=("atoms",),
        in_distribution_for=MLIPS_MATERIALS),
    "prototypes-perturbed": dict(
        domain="materials", role="off-equilibrium",
        description="rattled, strained and 1000 K MD snapshots of the relaxed prototypes",
        representations=("atoms",), in_distribution_for=("OMat24",),
        out_of_distribution_for=("MPtrj",)),
    "nci-organics": dict(
        domain="molecules", role="out-of-distribution",
        description="NCI molecules shipped with RDKit, ETKDG + MMFF94 conformers (4–188 atoms)",
        representations=("atoms", "smiles"), in_distribution_for=("PubChem", "ZINC", "OMol25"),
        out_of_distribution_for=MLIPS_MATERIALS + ("QM9",)),
    "peptides": dict(
        domain="biomolecules", role="out-of-distribution",
        description="150 random peptides of 5–20 residues, ETKDG + MMFF94 conformers",
        representations=("atoms", "smiles", "sequence"),
        in_distribution_for=("OMol25", "protein language models"),
        out_of_distribution_for=MLIPS_MATERIALS + ("QM9",)),
}.items():
    register(DatasetInfo(
        name=_name, source=f"generated by matteralign (data/{_name}/DATASHEET.md)",
        licence="MIT", version=GENERATED_VERSION, size=_GEN_SIZES[_name], **_kw,
    ), _generated(_name))

# The NCI organics made only of QM9's elements (H, C, N, O, F): the out-of-distribution set
# of the models trained here on QM9 (their SchNet rungs know no other element and refuse it).
QM9_ELEMENTS = (1, 6, 7, 8, 9)


def _qm9_elements_only(name: str):
    def loader() -> list[Sample]:
        allowed = set(QM9_ELEMENTS)
        return [s for s in _generated(name)() if set(s.atoms.numbers.tolist()) <= allowed]

    return loader


register(DatasetInfo(
    name="nci-organics-qm9-elements", domain="molecules", role="out-of-distribution",
    description="the 3,081 nci-organics molecules made only of H, C, N, O and F (QM9's "
                "elements), same conformers and ids; 5–188 atoms, median 15 heavy atoms (86 % "
                "have more than QM9's 9)",
    source="generated by matteralign (data/nci-organics/DATASHEET.md), filtered on elements",
    licence="MIT", version=GENERATED_VERSION, size=3081, representations=("atoms", "smiles"),
    in_distribution_for=("PubChem", "ZINC", "OMol25"),
    out_of_distribution_for=MLIPS_MATERIALS + ("QM9",),
), _qm9_elements_only("nci-organics"))

# ------------------------------------------------------------------ real data, downloaded by users


def _external(name: str, what: str, url: str, loader_name: str):
    def loader():
        from matteralign.datasets import loaders
        from matteralign.errors import MissingDataError

        folder = data_dir() / "external" / name
        if not folder.is_dir() or not any(folder.iterdir()):
            state = "is empty" if folder.is_dir() else "does not exist"
            raise MissingDataError(
                f"dataset {name!r} is not on this machine ({folder} {state}): download {what} "
                f"from {url} and put the files in {folder} (or load them from where they are "
                f"with matteralign.datasets.{loader_name}(path))")
        return list(getattr(loaders, loader_name)(folder, name=name))

    return loader


for _name, _dom, _what, _url, _loader, _ind in [
    ("omat24", "materials", "OMat24 (a split's .aselmdb files)",
     "https://huggingface.co/datasets/facebook/OMAT24", "from_aselmdb", ("OMat24",)),
    ("salex", "materials", "sAlex (.aselmdb files)",
     "https://huggingface.co/datasets/facebook/OMAT24 (salex/)", "from_aselmdb",
     ("OMat24", "Alexandria/sAlex")),
    ("omol25", "molecules", "OMol25 (.aselmdb files)",
     "https://huggingface.co/facebook/OMol25", "from_aselmdb", ("OMol25",)),
]:
    register(DatasetInfo(
        name=_name, domain=_dom, role="in-distribution" if _dom == "materials" else
        "out-of-distribution", description=f"{_what}; not shipped", source=_url,
        licence="CC-BY-4.0", version="user", size=None, representations=("atoms",),
        in_distribution_for=_ind,
        out_of_distribution_for=MLIPS_MATERIALS if _name == "omol25" else (), shipped=False,
    ), _external(_name, _what, _url, _loader))
