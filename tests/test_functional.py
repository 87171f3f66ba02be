"""losskit.functional: one function per registered loss, generated from the registry, equal to
the class (value, value and gradient, every reduction, weights, parameters), under
torch.nn.functional's name where PyTorch has the loss."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import losskit
from losskit import _base
from losskit import functional as F
from reference import REFERENCE, ROWWISE_REFERENCE, args_of, cast_data


def _defined_names():
    return [n for n in losskit.available_losses() if n in _base.DEFINITIONS]


def _data(name, params, dtype):
    rng = np.random.default_rng(31)
    if name in REFERENCE:
        ref = REFERENCE[name]
        data = cast_data(ref.sample(rng, params, (6, 5)), dtype)
        return list(args_of(ref, data))
    return _row_data(name, rng, dtype)


def _row_data(name, rng, dtype, n=6, c=5):
    """A row-wise loss's data arguments in call order, from its definition: (N, C) scores,
    then its row operands (the input's shape), then the target its ``row_target`` names."""
    d = _base.DEFINITIONS[name]
    rows = [rng.normal(0, 2, (n, c)).astype(dtype) for _ in range(1 + len(d["operands"]))]
    kind = d["row_target"]
    if kind == "label_lists":  # 0..C-1 labels, -1, then entries never read
        target = rng.integers(0, c, (n, c))
        for i, k in enumerate(rng.integers(0, c, n)):
            target[i, :k] = rng.permutation(c)[:k]
            target[i, k] = -1
        return rows + [target]
    target = {"labels": lambda: rng.integers(0, c, n),
              "values": lambda: (rng.random((n, c)) < 0.4).astype(dtype),
              "signs": lambda: rng.choice([-1.0, 1.0], n).astype(dtype),
              "none": lambda: None}[kind]()
    return rows if target is None else rows + [target]


def _param_sets(name):
    if name in REFERENCE:
        return REFERENCE[name].param_sets
    if name in ROWWISE_REFERENCE:
        return ROWWISE_REFERENCE[name].param_sets
    return ({},)


CASES = [(n, p) for n in _defined_names() for p in _param_sets(n)]


def test_one_function_per_loss_with_state_free_parameters():
    names = {F.function_name(n) for n in _defined_names()}
    assert names == set(F.__all__)
    assert "adaptive_barron" not in losskit.functional.__all__
    assert losskit.functional is F


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,params", CASES,
                         ids=[f"{n}[{','.join(f'{k}={v}' for k, v in p.items())}]"
                              for n, p in CASES])
def test_function_equals_the_class(name, params, dtype):
    fn = getattr(F, F.function_name(name))
    args = _data(name, params, dtype)
    cls = losskit.get_loss
    for reduction in _base.DEFINITIONS[name]["reductions"]:
        loss = cls(name, reduction=reduction, **params)
        w = np.linspace(0.5, 2.0, args[0].shape[0]).astype(dtype)
        for sample_weight in (None, w):
            expected = loss(*args, sample_weight=sample_weight)
            got = fn(*args, **params, reduction=reduction, sample_weight=sample_weight)
            np.testing.assert_array_equal(got, expected)
            ev, eg = loss.value_and_grad(*args, sample_weight=sample_weight)
            gv, gg = fn(*args, **params, reduction=reduction, sample_weight=sample_weight,
                        grad=True)
            np.testing.assert_array_equal(gv, ev)
            np.testing.assert_array_equal(gg, eg)
            assert gg.dtype == np.dtype(dtype)


def test_signature_is_data_then_parameters_then_reduction():
    sig = inspect.signature(F.huber_loss)
    assert list(sig.parameters) == ["input", "target", "delta", "reduction", "sample_weight",
                                    "grad"]
    assert sig.parameters["delta"].default == 1.0
    assert sig.parameters["reduction"].default == "mean"
    assert list(inspect.signature(F.margin_ranking_loss).parameters)[:4] == [
        "input1", "input2", "target", "margin"]
    assert list(inspect.signature(F.gaussian_nll_loss).parameters)[:3] == [
        "input", "target", "var"]
    assert inspect.signature(F.kl_div).parameters["reduction"].default == "batchmean"
    assert "losskit.HuberLoss" in F.huber_loss.__doc__


def test_parameters_are_checked_like_the_class_and_cached_by_type():
    x, y = np.array([0.5, 3.0]), np.zeros(2)
    assert F.huber_loss(x, y, delta=1) == F.huber_loss(x, y, delta=1.0)
    with pytest.raises(TypeError, match="delta"):
        F.huber_loss(x, y, delta=True)  # equal to 1 as a key, refused as a parameter
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(x, y, delta=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        F.huber_loss(x, y, reduction="avg")
    # array parameters are used as given (not cached)
    pw = np.array([1.0, 3.0])
    np.testing.assert_array_equal(
        F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0]), pos_weight=pw),
        losskit.BCEWithLogitsLoss(pos_weight=pw)(x, np.array([1.0, 0.0])))
    for _ in range(300):  # many parameter values: the cache stays bounded
        F.huber_loss(x, y, delta=float(np.random.default_rng().uniform(0.1, 2)))


def test_names_match_torch_nn_functional():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for name in _defined_names():
        fname = F.function_name(name)
        torch_names = [n for n in (name, name + "_loss") if hasattr(tf, n)]
        if _base.DEFINITIONS[name]["torch_function"]:
            assert hasattr(tf, fname), f"{name}: torch.nn.functional has no {fname}"
        else:
            # a loss PyTorch has under its own name must be reachable under that name
            assert not torch_names, f"{name} should be {torch_names[0]} (set torch_function)"
            assert fname == name


def test_functions_match_torch_where_torch_has_them():
    """Same call, same result: the function is a drop-in for torch.nn.functional's."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(32)
    x, y = rng.normal(size=20), rng.normal(size=20)
    for fname in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        for reduction in ("mean", "sum"):
            expected = getattr(tf, fname)(torch.tensor(x), torch.tensor(y), reduction=reduction)
            assert getattr(F, fname)(x, y, reduction=reduction) == pytest.approx(
                float(expected), rel=1e-13)
    labels = np.sign(rng.normal(size=20))
    expected = tf.margin_ranking_loss(torch.tensor(x), torch.tensor(y), torch.tensor(labels),
                                      margin=0.5)
    assert F.margin_ranking_loss(x, y, labels, margin=0.5) == pytest.approx(float(expected),
                                                                            rel=1e-13)
    scores, classes = rng.normal(size=(20, 4)), rng.integers(0, 4, 20)
    expected = tf.cross_entropy(torch.tensor(scores), torch.tensor(classes), label_smoothing=0.1)
    assert F.cross_entropy(scores, classes, label_smoothing=0.1) == pytest.approx(
        float(expected), rel=1e-13)


@pytest.mark.parametrize("name", [n for n in _defined_names()
                                  if _base.DEFINITIONS[n]["family"] == "rowwise"
                                  and _base.DEFINITIONS[n]["torch_function"]])
def test_rowwise_functions_match_torch(name):
    """Every row-wise loss PyTorch has: the same data arguments in the same order (scores or
    embeddings, row operands, the target its definition names), default parameters, the same
    value and gradients."""
    torch = pytest.importorskip("torch")
    fn = getattr(F, F.function_name(name))
    tfn = getattr(torch.nn.functional, F.function_name(name))
    d = _base.DEFINITIONS[name]
    args = _row_data(name, np.random.default_rng(33), np.float64)
    arrays = 1 + len(d["operands"])  # the differentiable ones, first in the call
    assert list(inspect.signature(fn).parameters)[:len(args)] == list(
        inspect.signature(tfn).parameters)[:len(args)]
    for reduction in ("mean", "sum"):
        ts = [torch.tensor(a, requires_grad=i < arrays) for i, a in enumerate(args)]
        expected = tfn(*ts, reduction=reduction)
        expected.backward()
        assert fn(*args, reduction=reduction) == pytest.approx(expected.item(), rel=1e-12)
        value, grad = fn(*args, reduction=reduction, grad=True)
        np.testing.assert_allclose(grad, ts[0].grad.numpy(), rtol=1e-10, atol=1e-14)
        if arrays > 1:
            _, *grads = losskit.get_loss(name, reduction=reduction).value_and_grads(*args)
            for g, t in zip(grads, ts):
                np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-14)
