"""Reference token ids from rxnfp 0.1.0's own SmilesTokenizer, for tests/test_models_string.py.

rxnfp's tokenizer imports ``pkg_resources`` (removed in setuptools >= 81) and, under
transformers 5, maps every SMILES to ``[UNK]``; so the project never imports it and
tokenises SMILES itself (``matteralign.models._smiles``). This script records what rxnfp's
tokenizer does in the environment it was written for. Run it in a throwaway virtual
environment:

    python3.11 -m venv /tmp/venv-rxnfp
    /tmp/venv-rxnfp/bin/pip install "transformers==4.57.*" "setuptools<81" rdkit numpy
    /tmp/venv-rxnfp/bin/pip install --no-deps rxnfp==0.1.0
    /tmp/venv-rxnfp/bin/python scripts/make_rxnfp_fixtures.py

It writes tests/fixtures/rxnfp_token_ids.json: for each SMILES of :data:`SMILES`, rxnfp's
tokens and ``input_ids`` (with ``[CLS]`` and ``[SEP]``), plus the package versions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rxnfp_token_ids.json"

# Molecules and reactions that exercise every branch of the SMILES regex: two-letter organic
# atoms, aromatic atoms, bracket atoms in and out of the vocabulary (out: [UNK]), isotopes,
# charges, stereo bonds and centres, ring closures (digit, %nn and %(nnn)), wildcards,
# fragments and reaction arrows; plus real QM9 and NCI molecules as the datasets write them.
SMILES = [
    "C",
    "CCO",
    "CC(=O)O",
    "c1ccccc1",
    "Brc1ccc(Cl)cc1",
    "ClC(Cl)(Cl)Br",
    "FC(F)(F)I",
    "OB(O)c1ccccc1",
    "C[C@@H](N)C(=O)O",
    "C[C@H](O)[C@@H](C)N",
    "F/C=C/F",
    "F/C=C\\F",
    "C#N",
    "[nH]1cccc1",
    "c1ccc2[nH]ccc2c1",
    "[Na+].[Cl-]",
    "[2H]C([2H])([2H])O",
    "[13CH4]",
    "[O-][N+](=O)c1ccccc1",
    "CC(=O)[O-].[NH4+]",
    "[Ho]",
    "[Cn]",
    "[U+6]",
    "[Xe]",
    "c1ccc2c(c1)[se]c1ccccc12",
    "C1CC%10CCC1%10",
    "C%(100)CCCC%(100)",
    "*c1ccccc1",
    "P(=O)(O)(O)O",
    "CS(=O)(=O)N",
    "CC(C)(C)OC(=O)N1CCC(CC1)C(=O)O",
    "CCO.CC(=O)O>>CCOC(C)=O",
    "CC(=O)Cl.OCC>[Na+].[OH-]>CC(=O)OCC",
    "OC1CC1OC=O",
    "CCC1OC1C(N)C#N",
    "CC1C(C)C2(CO)CN12",
    "CCCCCC[C]1(C)NC(=O)NC1=O",
    "CN(C)C1=CC2=C(C=C1)N=C3C=CC(=CC3=[S+]2)N(C)C",
    "OC1=CC(=C(O)C=C1)P(C2=CC=CC=C2)(C3=CC=CC=C3)C4=CC=CC=C4",
    "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O",
]


def main() -> None:
    import transformers
    from rxnfp.tokenization import get_default_tokenizer

    tok = get_default_tokenizer()
    cases = []
    for smi in SMILES:
        enc = tok(smi)
        cases.append({"smiles": smi, "tokens": tok.tokenize(smi), "input_ids": list(enc["input_ids"])})
    out = {
        "source": "rxnfp.tokenization.get_default_tokenizer() (vocab of bert_ft_10k_25s)",
        "versions": (f"rxnfp 0.1.0; transformers {transformers.__version__}; "
                     f"python {sys.version.split()[0]}"),
        "vocab_size": len(tok.vocab),
        "special_ids": {t: tok.vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")},
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")
    for c in cases:
        print(c["smiles"], c["input_ids"])


if __name__ == "__main__":
    main()
