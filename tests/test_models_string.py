"""The pretrained string models that ship in wheels (ChemNet from fcd, the RXN-BERT
checkpoints of rxnfp), their random twins, the SMILES-token control and the adapter for
local causal LMs: vectors equal the packages' own code, token ids equal rxnfp's tokenizer,
padding and canonicalisation behave as documented."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import MissingWeightsError, ValidationError
from matteralign.models import _weights, chemnet, llm, registry, rxnbert
from matteralign.models._smiles import read_smiles, tokenize

FIXTURE = Path(__file__).parent / "fixtures" / "rxnfp_token_ids.json"
# canonical SMILES (RDKit), so the packages' code and the adapters read the same strings
SMILES = ["CCO", "CC(=O)O", "c1ccccc1", "Clc1ccc(Br)cc1", "C[C@@H](N)C(=O)O", "CN1CCC[C@H]1c1cccnc1",
          "O=C(O)c1ccccc1O", "C#N", "CC(C)(C)OC(=O)N1CCC(C(=O)O)CC1"]


def _close(a, b, tol=1e-5):
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


def _dataset(smiles, ids=None):
    ids = ids or [f"m{i}" for i in range(len(smiles))]
    return Dataset(DatasetInfo("string-test", "molecules", version="1"),
                   [Sample(i, smiles=s) for i, s in zip(ids, smiles, strict=True)])


@pytest.fixture(scope="module")
def net():
    return chemnet.ChemNetAdapter()


@pytest.fixture(scope="module")
def bert():
    return rxnbert.RXNBertAdapter("rxnbert-ft")


# --------------------------------------------------------------------------- ChemNet
def test_chemnet_final_equals_fcd_get_predictions(net):
    import fcd

    reference = fcd.get_predictions(fcd.load_ref_model(), SMILES, n_jobs=0, device="cpu")
    ours = np.vstack(net.atom_features(SMILES, layer="final"))
    assert ours.shape == (len(SMILES), 512)
    _close(ours, reference)


def test_chemnet_position_layers_are_the_networks_activations_over_the_smiles_positions(net):
    import torch
    from fcd.utils import get_one_hot
    from fcd.utils import tokenize as fcd_tokenize

    smi = "Clc1ccc(Br)cc1"
    x = torch.from_numpy(get_one_hot(smi, pad_len=chemnet.PAD) / 35).float().T[None]
    m = net.model
    with torch.no_grad():
        conv1 = m[:3](x)[0].T.numpy()
        lstm2 = m[:13](x)[0].numpy()
    n = len(fcd_tokenize(smi + "."))  # Cl and Br are one token each; '.' ends the SMILES
    rows = {layer: net.atom_features([smi], layer=layer)[0] for layer in chemnet.LAYERS}
    assert rows["conv1"].shape == (math.ceil(n / 2), 32)
    assert rows["conv2"].shape == (math.ceil(math.ceil(n / 2) / 2), 32)
    assert rows["lstm1"].shape[1] == 128 and rows["lstm2"].shape[1] == 512
    assert rows["final"].shape == (1, 512)
    _close(rows["conv1"], conv1[: rows["conv1"].shape[0]])
    _close(rows["lstm2"], lstm2[: rows["lstm2"].shape[0]])


def test_chemnet_vectors_do_not_change_when_a_long_molecule_joins(net):
    long = "C" * chemnet.MAX_CHARS  # the longest SMILES ChemNet reads
    alone = net.embed(_dataset(SMILES[:3]), progress=False)
    joined = net.embed(_dataset([*SMILES[:3], long]), progress=False)
    # float32 network, another batch shape: equal up to summation order, not bit for bit
    np.testing.assert_allclose(joined.values[:3], alone.values, rtol=1e-5, atol=1e-6)


def test_chemnet_refuses_a_smiles_over_349_characters_naming_it(net):
    with pytest.raises(ValidationError, match=r"sample 'too-long'.*350 characters.*at most 349"):
        net.embed(_dataset(["CCO", "C" * 350], ids=["ok", "too-long"]), progress=False)


def test_chemnet_warns_once_per_embed_call_over_all_batches(net):
    smiles = ["F/C=C/F", "CCO", "F/C=C\\Cl", "CCN"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = net.embed(_dataset(smiles), batch_size=1, progress=False)
    mine = [w for w in caught if "outside ChemNet" in str(w.message)]
    assert len(mine) == 1 and "in 2 sample(s)" in str(mine[0].message)
    assert emb.attrs["unknown_characters"] == 4


def test_chemnet_counts_characters_outside_its_alphabet(net):
    with pytest.warns(UserWarning, match=r"2 character\(s\) outside ChemNet's 35-token alphabet"):
        emb = net.embed(_dataset(["CCO", "F/C=C/F"], ids=["plain", "stereo"]), progress=False)
    assert emb.attrs["unknown_characters"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert net.embed(_dataset(["CCO"]), progress=False).attrs["unknown_characters"] == 0


def test_chemnet_parameter_count_is_the_loaded_networks(net):
    assert sum(p.numel() for p in net.model.parameters()) == chemnet.N_PARAMS


def test_chemnet_twin_is_reproducible_and_untrained(net):
    twin = registry.get("chemnet-random")
    again = chemnet.ChemNetAdapter(seed=0)
    a = np.vstack(twin.atom_features(SMILES[:3]))
    np.testing.assert_allclose(a, np.vstack(again.atom_features(SMILES[:3])), rtol=1e-5, atol=1e-6)
    assert np.abs(a - np.vstack(net.atom_features(SMILES[:3]))).max() > 0.1
    assert twin.info.random_weights and twin.info.training_data == "none"
    assert "smiles=canonical" in twin.version


# --------------------------------------------------------------------------- RXN-BERT
def test_rxnbert_token_ids_equal_rxnfps_own_tokenizer(bert):
    cases = json.loads(FIXTURE.read_text())["cases"]
    assert len(cases) >= 30
    for case in cases:
        assert tokenize(case["smiles"]) == case["tokens"], case["smiles"]
        assert rxnbert.encode(case["smiles"], bert.vocab) == case["input_ids"], case["smiles"]


def test_rxnbert_vocabulary_has_the_documented_special_ids(bert):
    special = json.loads(FIXTURE.read_text())["special_ids"]
    assert len(bert.vocab) == 591
    assert {t: bert.vocab[t] for t in special} == special == {
        "[PAD]": 0, "[UNK]": 11, "[CLS]": 12, "[SEP]": 13, "[MASK]": 14}


def test_tokens_outside_the_vocabulary_are_read_as_unk(bert):
    assert rxnbert.encode("[U+6]C%(100)", bert.vocab)[1:-1] == [433, 16, 11]  # [U+6] is in it


@pytest.mark.parametrize("name", sorted(rxnbert.CHECKPOINTS))
def test_rxnbert_mean_over_tokens_equals_bert_last_hidden_state(name):
    import torch
    from transformers import BertModel

    adapter = registry.get(name)
    folder = rxnbert.checkpoint_dir(rxnbert.CHECKPOINTS[name][0])
    reference = BertModel.from_pretrained(str(folder)).eval()
    ours = adapter.embed(_dataset(SMILES), progress=False).values
    for row, ids in zip(ours, adapter.token_ids(SMILES), strict=True):
        with torch.no_grad():
            state = reference(input_ids=torch.tensor([ids])).last_hidden_state[0].numpy()
        _close(row, state[1:-1].mean(axis=0))


def test_rxnbert_cls_rows_are_the_cls_state(bert):
    import torch
    from transformers import BertModel

    cls = rxnbert.RXNBertAdapter("rxnbert-ft", rows="cls")
    reference = BertModel.from_pretrained(str(bert.folder)).eval()
    ours = cls.embed(_dataset(SMILES[:4]), progress=False).values
    for row, ids in zip(ours, cls.token_ids(SMILES[:4]), strict=True):
        with torch.no_grad():
            state = reference(input_ids=torch.tensor([ids])).last_hidden_state[0].numpy()
        _close(row, state[0])
    assert "rows=cls" in cls.version and cls.version != bert.version


def test_rxnbert_exposes_the_embeddings_and_all_twelve_layers(bert):
    assert bert.info.layers == ("embedding", *[f"layer{i}" for i in range(1, 13)], "last")
    rows = {layer: bert.atom_features(["CCO"], layer=layer)[0] for layer in bert.info.layers}
    assert {r.shape for r in rows.values()} == {(3, 256)}
    np.testing.assert_allclose(rows["layer12"], rows["last"], rtol=1e-5, atol=1e-6)  # two passes
    assert np.abs(rows["embedding"] - rows["layer1"]).max() > 1e-3


def test_rxnbert_refuses_more_than_512_tokens_naming_the_sample(bert):
    ok = "C" * 510  # 510 tokens + [CLS] + [SEP] = 512
    assert bert.atom_features([ok])[0].shape == (510, 256)
    with pytest.raises(ValidationError, match=r"sample 'long'.*511 tokens.*at most 510"):
        bert.embed(_dataset(["CCO", "C" * 511], ids=["short", "long"]), progress=False)


def test_rxnbert_vectors_do_not_depend_on_the_rest_of_the_batch(bert):
    alone = bert.embed(_dataset(SMILES[:3]), progress=False)
    joined = bert.embed(_dataset([*SMILES[:3], "C" * 400]), progress=False)
    _close(joined.values[:3], alone.values)


def test_rxnbert_parameter_count_is_the_loaded_models(bert):
    assert sum(p.numel() for p in bert.model.parameters()) == rxnbert.N_PARAMS


def test_rxnbert_twin_is_transformers_initialisation_under_the_seed(bert):
    twin = registry.get("rxnbert-ft-random")
    a = twin.embed(_dataset(SMILES[:3]), progress=False).values
    b = rxnbert.RXNBertAdapter("rxnbert-ft", seed=1).embed(_dataset(SMILES[:3]), progress=False).values
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32: summation order
    assert np.abs(a - bert.embed(_dataset(SMILES[:3]), progress=False).values).max() > 0.1


def test_the_three_rxnbert_twins_are_different_random_networks():
    data = _dataset(SMILES[:3])
    vecs = [registry.get(f"{n}-random").embed(data, progress=False).values
            for n in rxnbert.CHECKPOINTS]
    assert np.abs(vecs[0] - vecs[1]).max() > 0.05 and np.abs(vecs[1] - vecs[2]).max() > 0.05


def test_chemnet_default_layer_is_the_mean_over_smiles_positions_of_lstm2():
    net = registry.get("chemnet")
    assert net.resolve_layer("last") == "lstm2"


def test_chemnet_twin_tells_molecules_apart_at_its_default_layer():
    vecs = registry.get("chemnet-random").embed(_dataset(SMILES[:6]), progress=False).values
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    cosine = unit @ unit.T
    assert cosine[np.triu_indices(6, 1)].min() < 0.999


# --------------------------------------------------------------------------- canonicalisation
@pytest.mark.parametrize("name", ["chemnet", "rxnbert-ft", "smiles-tokens"])
def test_smiles_are_canonicalised_by_default(name):
    written = _dataset(["OCC", "CCO"], ids=["as-written", "canonical"])
    by_default = registry.get(name).embed(written, progress=False).values
    np.testing.assert_allclose(by_default[0], by_default[1], rtol=1e-5, atol=1e-6)  # two rows


@pytest.mark.parametrize("name", ["chemnet", "rxnbert-ft"])
def test_without_canonicalisation_the_vector_follows_the_writing_and_the_version_says_so(name):
    adapter = registry.get(name, canonical=False)
    values = adapter.embed(_dataset(["OCC", "CCO"]), progress=False).values
    assert np.abs(values[0] - values[1]).max() > 1e-3
    assert "smiles=as-written" in adapter.version
    assert "smiles=canonical" in registry.get(name).version


def test_a_malformed_smiles_is_refused_even_without_canonicalisation():
    with pytest.raises(ValidationError, match=r"sample 'bad': RDKit cannot parse SMILES 'C1CC'"):
        read_smiles(Sample("bad", smiles="C1CC"), canonical=False)


# --------------------------------------------------------------------------- token control
def test_smiles_token_counts_count_each_token_once_per_occurrence():
    model = registry.get("smiles-tokens")
    row = model.atom_features(["Clc1ccc(Br)cc1"])[0][0]
    counts = {model.columns[i]: int(row[i]) for i in np.flatnonzero(row)}
    assert counts == {"Cl": 1, "c": 6, "1": 2, "(": 1, ")": 1, "Br": 1}
    unknown = model.atom_features(["[13CH4].[13CH4]"])[0][0]  # [13CH4] is not in the vocabulary
    assert unknown[model.columns.index("[UNK]")] == 2 and unknown.sum() == 3


# --------------------------------------------------------------------------- local causal LMs
def _tiny_qwen3(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    chars = ["<unk>", "<pad>", *sorted(set("CNOScn()=#1234[]+-@H lrBSMILEShemoculwitg:."))]
    tk = Tokenizer(models.WordLevel({t: i for i, t in enumerate(chars)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>")
    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=len(chars), hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=64)
    Qwen3ForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    return _tiny_qwen3(tmp_path_factory.mktemp("llm") / "tiny-qwen3")


def test_llm_rows_are_the_hidden_states_of_the_smiles_tokens_only(tiny_qwen3):
    import torch
    from transformers import AutoModel, AutoTokenizer

    template = "The molecule with SMILES {smiles} is"
    adapter = registry.get("qwen3-0.6b", weights=str(tiny_qwen3), template=template)
    assert adapter.info.layers == ("embedding", "layer1", "layer2", "layer3", "last")
    rows = adapter.atom_features(["c1ccccc1O"], layer="layer2")[0]
    smiles = read_smiles("c1ccccc1O")
    assert rows.shape == (len(smiles), 16)  # one token per character, the template's dropped
    tok = AutoTokenizer.from_pretrained(str(tiny_qwen3))
    model = AutoModel.from_pretrained(str(tiny_qwen3), dtype=torch.float32).eval()
    ids = tok(template.replace("{smiles}", smiles), return_tensors="pt")["input_ids"]
    start = template.index("{smiles}")
    with torch.no_grad():
        state = model(input_ids=ids, output_hidden_states=True).hidden_states[2][0].numpy()
    _close(rows, state[start : start + len(smiles)])


def test_llm_template_is_part_of_the_version(tiny_qwen3):
    bare = registry.get("qwen3-0.6b", weights=str(tiny_qwen3))
    framed = registry.get("qwen3-0.6b", weights=str(tiny_qwen3), template="SMILES: {smiles}.")
    assert "template=none" in bare.version and "template=sha1:" in framed.version
    a, b = bare.atom_features(["CCO"])[0], framed.atom_features(["CCO"])[0]
    assert a.shape == b.shape == (3, 16) and np.abs(a - b).max() > 1e-4  # the prompt is context


def test_llm_template_without_one_smiles_placeholder_is_refused(tiny_qwen3):
    with pytest.raises(ValidationError, match=r"exactly once"):
        registry.get("qwen3-0.6b", weights=str(tiny_qwen3), template="no placeholder")


def test_llm_without_weights_names_the_folder_and_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv(_weights.ENV_VAR, str(tmp_path))
    with pytest.raises(MissingWeightsError) as err:
        llm.CausalLMAdapter(llm.info("qwen3-0.6b"), llm.spec("qwen3-0.6b"))
    msg = str(err.value)
    assert str(tmp_path / "llm" / "Qwen3-0.6B") in msg and "https://huggingface.co/Qwen/Qwen3-0.6B" in msg


# --------------------------------------------------------------------------- listing
def test_models_available_only_lists_the_offline_string_models(capsys):
    from matteralign.cli import main

    assert main(["models", "--available-only", "--modality", "string", "--json"]) == 0
    listed = set(json.loads(capsys.readouterr().out))
    new = {"chemnet", "smiles-tokens", *rxnbert.CHECKPOINTS}
    assert new | {f"{n}-random" for n in new - {"smiles-tokens"}} <= listed
