"""Adapters of models whose weights must be downloaded: without weights they stop at once
with one clear message (which file, where to get it, where to put it); their metadata is
honest; and where the package can be imported, the feature hook runs on a tiny randomly
initialised instance of the real architecture."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from matteralign.errors import MissingWeightsError
from matteralign.models import (
    _weights,
    esm,
    fairchem,
    hf_chem,
    llm,
    mace,
    mattersim,
    orb,
    pet,
    prostt5,
)
from matteralign.models._weights import MissingPackageError, WeightsSpec

FAMILIES = [mace, orb, fairchem, mattersim, pet, hf_chem, esm, prostt5, llm]
REFERENCE = Path("/work/shared/reference/published_sqrtjsd_cknna_k25.json")


class _Collector:
    def __init__(self):
        self.entries = {}

    def register(self, info, factory, available=None):
        assert info.name not in self.entries, info.name
        self.entries[info.name] = (info, factory, available)


def _entries():
    reg = _Collector()
    for family in FAMILIES:
        family.register(reg)
    return reg.entries


ENTRIES = _entries()


@pytest.fixture
def empty_weights(tmp_path, monkeypatch):
    monkeypatch.setenv(_weights.ENV_VAR, str(tmp_path))
    return tmp_path


def test_the_paper_model_families_are_registered():
    names = set(ENTRIES)
    assert {"mace-mp-0-medium", "mace-off23-large", "orb-v2", "orb-v3-conservative-inf-omat",
            "uma-m-1p1", "esen-30m-oam", "eqv2-153m-omat-mp-salex", "eqv2-dens-31m-mp",
            "chemberta-77m-mtr", "molformer-xl", "chemgpt-4.7m", "esm2-t33-650m",
            "esm-if1", "mattersim-v1-5m", "pet-mad", "prostt5", "qwen3-0.6b",
            "deepseek-r1-distill-qwen-1.5b"} <= names


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_without_weights_the_factory_stops_naming_file_source_and_place(name, empty_weights):
    info, factory, available = ENTRIES[name]
    with pytest.raises(MissingWeightsError) as err:
        factory()
    msg = str(err.value)
    spec = next(
        f.spec(name) for f in FAMILIES if name in getattr(f, "MODELS", {})
    )
    assert "\n" not in msg
    assert spec.filename in msg and spec.url in msg
    assert str(empty_weights / spec.family / spec.filename) in msg
    assert "--weights PATH" in msg and "put it there" in msg
    assert available() == msg  # the registry's listing says the same thing


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_metadata_is_marked_untested_and_complete(name):
    info = ENTRIES[name][0]
    assert info.tested_here is False and info.random_weights is False
    assert info.training_data and info.reference and info.layers and info.package
    assert info.layers[-1] == "last" or "last" not in info.layers


def test_a_wrong_weights_path_is_named_in_the_message(tmp_path):
    _, factory, _ = ENTRIES["mace-mp-0-medium"]
    missing = tmp_path / "nope.model"
    with pytest.raises(MissingWeightsError, match="nope.model does not exist"):
        factory(weights=str(missing))


def test_the_message_for_the_documented_example_reads_as_specified(monkeypatch):
    monkeypatch.delenv(_weights.ENV_VAR, raising=False)
    msg = mace.spec("mace-mp-0-medium").missing_message()
    assert msg.startswith(
        "MACE-MP-0 medium weights not found: expected "
        "data/weights/mace/2023-12-03-mace-128-L1_epoch-199.model (or pass --weights PATH). "
        "Download from https://github.com/ACEsuit/mace-mp/releases/download/mace_mp_0/"
    )


@pytest.mark.skipif(importlib.util.find_spec("mace") is not None, reason="mace-torch is installed here")
def test_with_weights_but_without_the_package_the_message_names_the_extra(empty_weights):
    spec = mace.spec("mace-mp-0-small")
    (empty_weights / "mace").mkdir()
    (empty_weights / "mace" / spec.filename).write_bytes(b"")
    _, factory, available = ENTRIES["mace-mp-0-small"]
    assert "matteralign[mace]" in available()
    adapter = factory()  # the file exists: construction succeeds
    with pytest.raises(MissingPackageError, match=r"matteralign\[mace\]"):
        adapter.atom_features([])


def test_published_labels_exist_in_the_released_reference_file():
    data = json.loads(REFERENCE.read_text())
    labels = {m["label"] for d in data["datasets"] for m in d["models"]}
    ours = {**mace.PUBLISHED_LABELS, **orb.PUBLISHED_LABELS, **fairchem.PUBLISHED_LABELS,
            **pet.PUBLISHED_LABELS}
    assert set(ours.values()) <= labels
    assert {k.split(":")[0] for k in ours} <= set(ENTRIES)


def test_parameter_counts_match_the_released_reference_file():
    data = json.loads(REFERENCE.read_text())
    counts = {m["label"]: m["numParams"] for d in data["datasets"] for m in d["models"]}
    for family in (mace, orb, fairchem, pet):
        for key, label in family.PUBLISHED_LABELS.items():
            name = key.split(":")[0]
            if counts[label] is not None:
                assert ENTRIES[name][0].n_params == counts[label], name


def test_weights_folder_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(_weights.ENV_VAR, str(tmp_path))
    spec = WeightsSpec("X", "fam", "x.bin", "https://example.org/x.bin")
    assert spec.default_path() == tmp_path / "fam" / "x.bin"
    (tmp_path / "fam").mkdir()
    (tmp_path / "fam" / "x.bin").write_bytes(b"0")
    assert spec.resolve() == tmp_path / "fam" / "x.bin"


# ---------------------------------------------------------------- hooks on tiny instances
def test_chemberta_hook_on_a_tiny_random_roberta(tmp_path):  # transformers: a default dependency
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "C", "O", "N", "(", ")", "=", "1"])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                  pad_token="<pad>", unk_token="<unk>")
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=3,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=40)
    folder = tmp_path / "ChemBERTa-77M-MTR"
    RobertaModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)

    adapter = ENTRIES["chemberta-77m-mtr"][1](weights=str(folder))
    feats = adapter.atom_features(["CC(=O)O", "C1CC1"], layer="last")
    assert [f.shape for f in feats] == [(7, 16), (5, 16)]  # one row per SMILES token
    emb = adapter.atom_features(["CC(=O)O"], layer="embedding")[0]
    assert emb.shape == (7, 16) and not np.allclose(emb, feats[0])
    again = adapter.atom_features(["CC(=O)O"], layer="layer3")[0]
    np.testing.assert_allclose(again, feats[0])  # 3 layers: layer3 is the last


@pytest.mark.skipif(importlib.util.find_spec("esm") is None or
                    importlib.util.find_spec("esm.model") is None,
                    reason="fair-esm not installed (optional extra 'esm')")
def test_esm2_hook_on_a_tiny_random_esm2(tmp_path):
    import esm as fair_esm
    import torch

    alphabet = fair_esm.Alphabet.from_architecture("ESM-1b")
    torch.manual_seed(0)
    model = fair_esm.model.esm2.ESM2(num_layers=2, embed_dim=16, attention_heads=2, alphabet=alphabet)
    path = tmp_path / "esm2_t6_8M_UR50D.pt"
    path.write_bytes(b"")  # the adapter only needs the file to exist; the network is injected
    adapter = ENTRIES["esm2-t6-8m"][1](weights=str(path))
    adapter._model = (model.eval(), alphabet)
    seq = "MKTAYIAKQR"
    last = adapter.atom_features([seq], layer="last")[0]
    assert last.shape == (len(seq), 16)  # BOS/EOS dropped
    first = adapter.atom_features([seq], layer="layer1")[0]
    assert first.shape == last.shape and not np.allclose(first, last)


@pytest.mark.skipif(importlib.util.find_spec("mace") is None,
                    reason="mace-torch not installed (optional extra 'mace')")
def test_mace_hook_on_a_tiny_random_scaleshiftmace(tmp_path):
    import torch
    import torch.nn.functional as F

    torch.serialization.add_safe_globals([slice])  # e3nn 0.4.4 constants under torch >= 2.6
    from ase.build import bulk, molecule
    from e3nn import o3
    from mace import modules

    from matteralign.models.base import pool

    torch.manual_seed(0)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = modules.ScaleShiftMACE(
        r_max=5.0, num_bessel=8, num_polynomial_cutoff=6, max_ell=2, interaction_cls=block,
        interaction_cls_first=block, num_interactions=2, num_elements=5,
        hidden_irreps=o3.Irreps("8x0e + 8x1o"), MLP_irreps=o3.Irreps("4x0e"), gate=F.silu,
        atomic_energies=np.zeros(5), avg_num_neighbors=8, atomic_numbers=[1, 6, 8, 11, 17],
        correlation=2, radial_type="bessel", atomic_inter_scale=1.0, atomic_inter_shift=0.0,
    ).double()
    path = tmp_path / "tiny.model"
    torch.save(model, path)
    adapter = ENTRIES["mace-mp-0-medium"][1](weights=str(path))
    mol = molecule("CH3OH")
    rot = mol.copy()
    rot.rotate(40, (1, 2, 0.5), center="COP")
    shapes = {layer: adapter.atom_features([mol], layer=layer)[0].shape for layer in adapter.info.layers}
    assert shapes == {"interaction1": (6, 8), "interaction2": (6, 8), "equivariant": (6, 40),
                      "invariant": (6, 16)}
    l1, l2, inv = (adapter.atom_features([mol], layer=k)[0]
                   for k in ("interaction1", "interaction2", "invariant"))
    np.testing.assert_allclose(np.hstack([l1, l2]), inv)
    a, b = adapter.atom_features([mol, rot], layer="invariant")
    np.testing.assert_allclose(pool(a), pool(b), atol=1e-10)
    a, b = adapter.atom_features([mol, rot], layer="equivariant")
    assert np.abs(pool(a) - pool(b)).max() > 1e-4
    crystal = bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1)
    assert adapter.atom_features([crystal])[0].shape == (4, 16)


@pytest.mark.skipif(importlib.util.find_spec("orb_models") is None,
                    reason="orb-models not installed (optional extra 'orb')")
def test_orb_hook_on_a_tiny_random_orb_v3(tmp_path):
    import torch
    from ase.build import bulk
    from orb_models.forcefield import pretrained
    from orb_models.forcefield.atomic_system import SystemConfig

    from matteralign.models.base import pool

    torch.manual_seed(0)
    tiny = pretrained.orb_v3_direct_architecture(
        latent_dim=16, base_mlp_hidden_dim=32, head_mlp_hidden_dim=16,
        num_message_passing_steps=2, device="cpu",
        system_config=SystemConfig(radius=6.0, max_num_neighbors=20),
    ).eval()
    path = tmp_path / "orb-v3-direct-20-omat-20250404.ckpt"
    path.write_bytes(b"")  # the adapter only needs the file to exist; the network is injected
    adapter = ENTRIES["orb-v3-direct-20-omat"][1](weights=str(path))
    adapter._model = tiny
    crystal = bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1)
    crystal.rattle(0.05, seed=1)
    feats = adapter.atom_features([crystal, crystal[[3, 1, 2, 0]]])
    assert feats[0].shape == (4, 16)
    np.testing.assert_allclose(pool(feats[0]), pool(feats[1]), rtol=1e-5, atol=1e-6)
    # batched alone vs with another structure: float32, equal up to summation order
    np.testing.assert_allclose(feats[0], adapter.atom_features([crystal])[0], rtol=1e-5, atol=1e-6)
