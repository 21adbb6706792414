"""One battery for every registered pairwise metric (metrics/_registry.py): symmetry where
promised, invariances, agreement of the fast path with the literal dense reference, and one
clear error for each kind of bad input. Registering a metric adds it here."""

import numpy as np
import pytest

from matteralign import metrics
from matteralign.errors import ValidationError
from matteralign.tensors import embeddings

N = 64
NAMES = sorted(metrics.PAIRWISE)


def _spec(name):
    return metrics.PAIRWISE[name]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    z = rng.normal(size=(N, 3))
    a = np.concatenate([z, 0.3 * rng.normal(size=(N, 3))], axis=1)
    b = np.tanh(z @ rng.normal(size=(3, 5))) + 0.2 * rng.normal(size=(N, 5))
    return a, b


def _value(name, a, b, **extra):
    spec = _spec(name)
    return spec.func(a, b, **{**spec.params, **extra})


def test_registry_holds_the_public_metrics():
    assert {"cknna", "mutual_knn", "cka", "dcor", "info_imbalance"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_value_is_a_finite_python_float(name, data):
    value = _value(name, *data)
    assert isinstance(value, float) and np.isfinite(value)


@pytest.mark.parametrize("name", [n for n in NAMES if _spec(n).symmetric])
def test_symmetric_metrics_do_not_depend_on_argument_order(name, data):
    a, b = data
    assert _value(name, a, b) == pytest.approx(_value(name, b, a), abs=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if not _spec(n).symmetric])
def test_directed_metrics_do_depend_on_argument_order(name, data):
    a, b = data
    assert _value(name, a, b) != _value(name, b, a)


_TRANSFORMS = {
    "scale": lambda x, rng: 3.7 * x,
    "rotation": lambda x, rng: x @ np.linalg.qr(rng.normal(size=(x.shape[1],) * 2))[0],
    "translation": lambda x, rng: x + rng.normal(size=x.shape[1]),
}
_INVARIANT = [(n, t) for n in NAMES for t in _spec(n).invariances]


@pytest.mark.parametrize(("name", "transform"), _INVARIANT)
def test_value_is_invariant_to_promised_transforms_of_either_input(name, transform, data):
    a, b = data
    rng = np.random.default_rng(2)
    base = _value(name, a, b)
    assert _value(name, _TRANSFORMS[transform](a, rng), b) == pytest.approx(base, abs=1e-9)
    assert _value(name, a, _TRANSFORMS[transform](b, rng)) == pytest.approx(base, abs=1e-9)


@pytest.mark.parametrize("name", [n for n in NAMES if _spec(n).reference is not None])
def test_fast_path_equals_dense_reference_formula(name, data):
    a, b = data
    spec = _spec(name)
    assert _value(name, a, b) == pytest.approx(spec.reference(a, b, **spec.params), abs=1e-10)
    c = np.random.default_rng(4).normal(size=(N, 2))  # unrelated data too
    assert _value(name, a, c) == pytest.approx(spec.reference(a, c, **spec.params), abs=1e-10)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_input_raises_one_validation_error(name, bad, data):
    a, b = data
    b = b.copy()
    b[7, 1] = bad
    with pytest.raises(ValidationError, match="NaN or infinite"):
        _value(name, a, b)


@pytest.mark.parametrize("name", NAMES)
def test_fewer_than_minimum_samples_raises(name, data):
    a, b = data
    n = _spec(name).min_samples - 1
    extra = {"k": 1} if _spec(name).uses_k else {}
    with pytest.raises(ValidationError, match="at least"):
        _value(name, a[:n], b[:n], **extra)


@pytest.mark.parametrize("name", NAMES)
def test_different_sample_counts_raise(name, data):
    a, b = data
    with pytest.raises(ValidationError, match="samples"):
        _value(name, a, b[:-1])


@pytest.mark.parametrize("name", NAMES)
def test_embeddings_with_samples_in_another_order_raise(name, data):
    a, b = data
    ids = [f"s{i}" for i in range(N)]
    ea = embeddings(a, ids, model="a", dataset="d")
    eb = embeddings(b[::-1], ids[::-1], model="b", dataset="d")
    with pytest.raises(ValidationError, match="different order"):
        _value(name, ea, eb)


@pytest.mark.parametrize("name", NAMES)
def test_embeddings_in_the_same_order_give_the_array_value(name, data):
    a, b = data
    ids = [f"s{i}" for i in range(N)]
    ea = embeddings(a, ids, model="a", dataset="d")
    eb = embeddings(b, ids, model="b", dataset="d")
    assert _value(name, ea, eb) == pytest.approx(_value(name, a, b), abs=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if _spec(n).uses_k])
@pytest.mark.parametrize("k", [0, N, N + 5])
def test_k_outside_1_to_n_minus_1_raises(name, k, data):
    with pytest.raises(ValidationError, match="k"):
        _value(name, *data, k=k)
