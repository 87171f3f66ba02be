"""losskit.torch: every loss as a torch.nn.Module on the custom operator torch.ops.losskit.loss.

References: torch.nn.functional (values and autograd gradients, every reduction) where PyTorch
has the loss; finite differences (torch.autograd.gradcheck, float64) for every loss and every
differentiable argument; losskit's NumPy API (the same values, the same errors); autograd of
the adaptive loss's formula written in torch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import losskit
from losskit import _catalog
from losskit._base import DEFINITIONS

torch = pytest.importorskip("torch")
lt = pytest.importorskip("losskit.torch")
F = torch.nn.functional

NAMES = sorted(n for n, d in DEFINITIONS.items() if d["class_name"])
TORCH_NAMES = [n for n in NAMES if DEFINITIONS[n]["torch_function"]]


def _module(name, **params):
    return getattr(lt, DEFINITIONS[name]["class_name"])(**params)


def _sample(name, seed=0, n=6, c=4, dtype=np.float64):
    """The data arguments of a loss in call order (NumPy), away from kinks."""
    data = _catalog.sample(name, losskit.get_loss(name), np.random.default_rng(seed), n=n, c=c)
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in (data["x"], *data["args"])]


def _differentiable(name):
    """Positions of the data arguments losskit differentiates (the input, its operands and
    a residual loss's target)."""
    d = DEFINITIONS[name]
    data = lt._MODULES[d["class_name"]]._data
    target = [data.index("target")] if d["residual"] else []
    return [0] + [data.index(n) for n in d["operands"] if n in data] + target


def _tensors(arrays, positions):
    return [torch.tensor(a, requires_grad=i in positions) for i, a in enumerate(arrays)]


def _torch_kwargs(module):
    kwargs = {k: v for k, v in module._config.items() if k != "param"}
    for k in ("weight", "pos_weight"):
        if kwargs.get(k) is not None:
            kwargs[k] = torch.as_tensor(np.asarray(kwargs[k], dtype=np.float64))
    return kwargs


# ---- the operator ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_opcheck(name):
    """torch.library.opcheck (schema, autograd registration, fake tensors, AOT dispatch) on
    the operator as each module calls it, with every differentiable argument requiring grad."""
    arrays = _sample(name)
    tensors = _tensors(arrays, _differentiable(name))
    module = _module(name, reduction="none" if name in ("mse", "cross_entropy") else "mean")
    args = [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor)
            else a for a in module._arguments(tensors, None)]  # leaves, as opcheck wants
    torch.library.opcheck(torch.ops.losskit.loss.default, args)


def test_opcheck_log_partition():
    alpha = torch.tensor([[0.3, 1.0, 1.7]], dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.losskit.barron_log_partition.default, (alpha,))


def test_import_losskit_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, losskit, losskit.functional; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ---- gradients against finite differences --------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name, reduction):
    arrays = _sample(name, seed=1)
    positions = _differentiable(name)
    tensors = _tensors(arrays, positions)
    module = _module(name, reduction=reduction)

    def f(*leaves):
        args = list(tensors)
        for i, leaf in zip(positions, leaves):
            args[i] = leaf
        return module(*args)

    assert torch.autograd.gradcheck(f, [tensors[i] for i in positions], eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("per_element", [False, True], ids=["scalar", "per-element"])
def test_barron_alpha_and_scale_tensors_gradcheck(per_element):
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(0, 1.5, (5, 3)), requires_grad=True)
    y = torch.tensor(rng.normal(0, 1, (5, 3)))
    shape = (3,) if per_element else ()
    alpha = torch.nn.Parameter(torch.tensor(rng.uniform(-1.5, 1.8, shape)))
    scale = torch.nn.Parameter(torch.tensor(rng.uniform(0.5, 1.5, shape)))
    module = lt.BarronLoss(alpha=alpha, scale=scale)
    assert [n for n, _ in module.named_parameters()] == ["alpha", "scale"]

    def f(x, a, c):
        module.alpha, module.scale = a, c
        return module(x, y)

    assert torch.autograd.gradcheck(f, (x, alpha, scale), eps=1e-6, atol=1e-6)
    # against autograd of the formula (alpha away from 0 and 2)
    module.alpha, module.scale = alpha, scale
    value = module(x, y)
    grads = torch.autograd.grad(value, (x, alpha, scale))
    b = torch.abs(alpha - 2)
    expected = (b / alpha * ((((x - y) / scale) ** 2 / b + 1) ** (alpha / 2) - 1)).mean()
    for got, want in zip(grads, torch.autograd.grad(expected, (x, alpha, scale))):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(value, expected, rtol=1e-12, atol=0)


def test_pos_weight_tensor_is_data():
    """A tensor pos_weight is a buffer (PyTorch does not differentiate it either)."""
    rng = np.random.default_rng(12)
    x = torch.tensor(rng.normal(0, 2, (5, 3)), requires_grad=True)
    y = torch.tensor(rng.uniform(0, 1, (5, 3)))
    pos_weight = torch.tensor(rng.uniform(0.5, 3.0, 3))
    module = lt.BCEWithLogitsLoss(pos_weight=pos_weight)
    assert [n for n, _ in module.named_buffers()] == ["pos_weight"]
    value = module(x, y)
    expected = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)
    torch.testing.assert_close(value, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(torch.autograd.grad(value, x)[0],
                               torch.autograd.grad(expected, x)[0], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="pos_weight requires grad"):
        lt.BCEWithLogitsLoss(pos_weight=torch.nn.Parameter(pos_weight))
    pos_weight.requires_grad_()
    with pytest.raises(ValueError, match="pos_weight requires grad"):
        module(x, y)


def test_scaled_upstream_gradient():
    """The backward pass multiplies by the incoming gradient (not only the seed 1)."""
    x = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
    y = torch.zeros(3)
    (2.5 * lt.HuberLoss(reduction="sum")(x, y)).backward()
    torch.testing.assert_close(x.grad, 2.5 * torch.tensor([0.5, -1.0, 1.0]))
    x.grad = None
    per = lt.HuberLoss(reduction="none")(x, y)
    per.backward(torch.tensor([1.0, 2.0, -1.0]))
    torch.testing.assert_close(x.grad, torch.tensor([0.5, -2.0, -1.0]))


@pytest.mark.parametrize("path", ["operator", "eager"])
def test_backward_stores_the_kernel_gradient_without_copies(path):
    """The gradient losskit wrote in the forward pass becomes the leaf's .grad itself; a
    retained graph gives it again (and accumulates as PyTorch does)."""
    x = torch.tensor(np.random.default_rng(11).normal(size=1000), requires_grad=True)
    y = torch.zeros(1000)
    module = lt.HuberLoss(delta=0.5)
    if path == "operator":
        value, d_input, _, _ = torch.ops.losskit.loss(*module._arguments((x, y), None))
    else:
        value = module(x, y)
        assert type(value.grad_fn).__name__ == "_EagerLossBackward"
        (d_input,) = value.grad_fn.saved_tensors
    address = d_input.data_ptr()
    del d_input
    value.backward(retain_graph=True)
    assert x.grad.data_ptr() == address
    expected = torch.from_numpy(losskit.HuberLoss(delta=0.5).grad(x.detach().numpy(),
                                                                   y.numpy()))
    torch.testing.assert_close(x.grad, expected, rtol=0, atol=0)
    value.backward()
    torch.testing.assert_close(x.grad, 2 * expected, rtol=0, atol=0)


# the operator's and the eager path's calls: (registry name, parameters, data positions that
# require grad); "tensor" parameters are given as Parameters (per element)
PATH_CASES = [("mse", {}, [0]), ("huber", {"delta": 0.3}, [0]), ("cross_entropy", {}, [0]),
              ("gaussian_nll", {"reduction": "none"}, [0, 2]),
              ("triplet_margin", {"margin": 5.0}, [0, 1, 2]),
              ("barron", {"alpha": "tensor", "scale": "tensor"}, [0])]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_eager_path_equals_the_operator_bitwise(case, dtype):
    """Eager calls on plain tensors skip the operator's dispatch (an autograd Function around
    the same kernel call); values and every gradient are bitwise those of
    torch.ops.losskit.loss, for a seed of 1 (the no-copy backward) and a scaled one."""
    name, params, positions = case
    rng = np.random.default_rng(5)
    tensor_params = {k: torch.nn.Parameter(torch.tensor(rng.uniform(0.5, 1.5, 6).astype(dtype)))
                     for k, v in params.items() if v == "tensor"}
    module = _module(name, **{**params, **tensor_params})
    arrays = _sample(name, seed=3, n=6, c=4, dtype=dtype)
    results = []
    for path in ("eager", "operator"):
        tensors = _tensors(arrays, positions)
        leaves = [tensors[i] for i in positions] + list(tensor_params.values())
        for t in leaves:
            t.grad = None
        if path == "eager":
            value = module(*tensors)
            assert type(value.grad_fn).__name__ == "_EagerLossBackward"
        else:
            config, mode, *rest = module._arguments(tensors, None)
            value = torch.ops.losskit.loss(config, mode, *rest)[0]
            assert "losskit_loss" in type(value.grad_fn).__name__
        seed = torch.linspace(-1, 2, value.numel(), dtype=value.dtype).reshape(value.shape)
        if value.dim() == 0:
            seed = torch.ones_like(value)
        grads = torch.autograd.grad(value, leaves, seed, retain_graph=True)
        scaled = torch.autograd.grad(value, leaves, 0.75 * seed)
        results.append((value.detach(), grads, scaled))
    (v1, g1, s1), (v2, g2, s2) = results
    assert torch.equal(v1, v2)
    for a, b in zip(g1 + s1, g2 + s2):
        assert a.dtype == b.dtype and torch.equal(a, b)
    assert not torch.equal(g1[0], s1[0])


def test_traced_calls_use_the_operator():
    """Under a dispatch mode (FakeTensor, make_fx) or without grad the eager Function is not
    used: the operator is what traces."""
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch._subclasses.fake_tensor import FakeTensorMode

    module = lt.HuberLoss()
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, dtype=torch.float64)
    graph = make_fx(lambda a, b: module(a, b))(x.detach(), y)
    assert "torch.ops.losskit.loss.default" in graph.code
    with FakeTensorMode() as mode:
        value = module(mode.from_tensor(x), mode.from_tensor(y))
        assert "losskit_loss" in type(value.grad_fn).__name__
    with torch.no_grad():
        assert module(x, y).item() == losskit.HuberLoss()(x.detach().numpy(), y.numpy())


RESIDUAL = [n for n in NAMES if DEFINITIONS[n]["residual"]]


def test_residual_losses_are_the_regression_losses_of_input_minus_target():
    assert {"mse", "l1", "huber", "smooth_l1", "gaussian_nll", "barron"} <= set(RESIDUAL)
    assert not {"poisson_nll", "kl_div", "bce", "bce_with_logits", "cross_entropy"} & set(RESIDUAL)


@pytest.mark.parametrize("name", RESIDUAL)
def test_residual_target_gradient_alone(name):
    """Only the target requiring grad: its gradient is minus the input's (the input's own
    gradient with both), on both paths, and the module's value does not change."""
    x, y, *rest = (torch.tensor(a) for a in _sample(name, seed=4))
    module = _module(name)
    y.requires_grad_()
    value = module(x, y, *rest)
    (d_target,) = torch.autograd.grad(value, y)
    xg = x.clone().requires_grad_()
    expected = torch.autograd.grad(module(xg, y.detach(), *rest), xg)[0]
    torch.testing.assert_close(d_target, -expected, rtol=0, atol=0)
    assert value.item() == module(x, y.detach(), *rest).item()
    config, mode, *args = module._arguments((x, y, *rest), None)
    op_value = torch.ops.losskit.loss(config, mode, *args)[0]
    assert torch.equal(torch.autograd.grad(op_value, y)[0], d_target)


def test_no_second_derivatives():
    x = torch.tensor([0.5, 2.0], requires_grad=True)
    value = lt.MSELoss()(x, torch.zeros(2))
    with pytest.raises(RuntimeError, match="second derivatives"):
        torch.autograd.grad(value, x, create_graph=True)


# ---- values and gradients against torch.nn.functional ---------------------------------------
CASES = [(n, {}) for n in TORCH_NAMES] + [
    ("huber", {"delta": 0.3}),
    ("smooth_l1", {"beta": 0.5}),
    ("poisson_nll", {"log_input": False, "full": True}),
    ("kl_div", {"log_target": True}),
    ("gaussian_nll", {"full": True}),
    ("cross_entropy", {"weight": [0.5, 1.0, 2.0, 1.5], "ignore_index": 1,
                       "label_smoothing": 0.1}),
    ("nll", {"weight": [0.5, 1.0, 2.0, 1.5], "ignore_index": 2}),
    ("multi_margin", {"p": 2, "margin": 0.7, "weight": [0.5, 1.0, 2.0, 1.5]}),
    ("multilabel_soft_margin", {"weight": [0.5, 1.0, 2.0, 1.5]}),
    ("bce_with_logits", {"pos_weight": [0.5, 1.0, 2.0, 3.0, 1.0, 0.7]}),
    ("cosine_embedding", {"margin": 0.2}),
    ("triplet_margin", {"margin": 0.5, "p": 1.0, "swap": True}),
    ("hinge_embedding", {"margin": 0.5}),
    ("margin_ranking", {"margin": 0.3}),
]


def _case_id(case):
    name, params = case
    return name + "".join(f"-{k}" for k in params)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch_functional(case, dtype):
    name, params = case
    d = DEFINITIONS[name]
    arrays = _sample(name, seed=3, dtype=dtype)
    if name == "kl_div" and params.get("log_target"):
        arrays[1] = np.log(arrays[1] + 0.1).astype(dtype)
    if name == "poisson_nll" and params.get("log_input") is False:  # rates, not log-rates
        arrays[0] = (np.abs(arrays[0]) + 0.1).astype(dtype)
    positions = _differentiable(name)
    function = getattr(F, d["torch_function"])
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-6}
    for reduction in d["reductions"]:
        module = _module(name, reduction=reduction, **params)
        kwargs = _torch_kwargs(module)
        ours, theirs = _tensors(arrays, positions), _tensors(arrays, positions)
        if kwargs.get("weight") is not None or kwargs.get("pos_weight") is not None:
            for k in ("weight", "pos_weight"):
                if kwargs.get(k) is not None:
                    kwargs[k] = kwargs[k].to(ours[0].dtype)
        value = module(*ours)
        with warnings.catch_warnings():  # kl_div's "mean" is PyTorch's, warned about
            warnings.simplefilter("ignore")
            expected = function(*theirs, **kwargs)
        assert value.dtype == expected.dtype and value.shape == expected.shape
        torch.testing.assert_close(value, expected, **tol)
        seed = torch.linspace(0.5, 1.5, value.numel(), dtype=value.dtype).reshape(value.shape)
        value.backward(seed)
        expected.backward(seed)
        for i in positions:
            torch.testing.assert_close(ours[i].grad, theirs[i].grad, **tol)


@pytest.mark.parametrize("var_shape", [(6, 3), (6, 1), (6,)])
def test_gaussian_nll_var_broadcast_matches_torch(var_shape):
    rng = np.random.default_rng(4)
    x, y = (torch.tensor(rng.normal(size=(6, 3)), requires_grad=True) for _ in range(2))
    y = y.detach()
    var = torch.tensor(rng.uniform(0.2, 2.0, var_shape), requires_grad=True)
    x2, var2 = x.detach().clone().requires_grad_(), var.detach().clone().requires_grad_()
    lt.GaussianNLLLoss()(x, y, var).backward()
    F.gaussian_nll_loss(x2, y, var2).backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=0)
    assert var.grad.shape == var2.grad.shape
    torch.testing.assert_close(var.grad, var2.grad, rtol=1e-12, atol=1e-15)


def test_spatial_cross_entropy_none_matches_torch():
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(3, 4, 2, 5)), requires_grad=True)
    y = torch.tensor(rng.integers(0, 4, (3, 2, 5)))
    x2 = x.detach().clone().requires_grad_()
    seed = torch.tensor(rng.uniform(size=(3, 2, 5)))
    lt.CrossEntropyLoss(reduction="none")(x, y).backward(seed)
    F.cross_entropy(x2, y, reduction="none").backward(seed)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-15)


def test_sample_weight_matches_losskit():
    rng = np.random.default_rng(6)
    x, y, w = rng.normal(size=8), rng.normal(size=8), rng.uniform(0, 2, 8)
    tx = torch.tensor(x, requires_grad=True)
    value = lt.HuberLoss()(tx, torch.tensor(y), sample_weight=torch.tensor(w))
    value.backward()
    v, g = losskit.HuberLoss().value_and_grad(x, y, sample_weight=w)
    assert value.item() == v
    np.testing.assert_array_equal(tx.grad.numpy(), g)


# ---- layouts and requires_grad ---------------------------------------------------------------
def test_non_contiguous_and_no_grad_inputs():
    rng = np.random.default_rng(7)
    base = torch.tensor(rng.normal(size=(8, 6)))
    target = torch.tensor(rng.normal(size=(6, 4)))
    x = base.t()[:, ::2]  # (6, 4), neither C- nor F-contiguous
    assert not x.is_contiguous()
    loss = lt.PseudoHuberLoss(delta=0.7)
    v = loss(x, target)
    assert v.grad_fn is None and not v.requires_grad
    assert v.item() == losskit.PseudoHuberLoss(delta=0.7)(x.contiguous().numpy(), target.numpy())
    leaf = base.clone().requires_grad_()
    loss(leaf.t()[:, ::2], target.t().contiguous().t()).backward()
    expected = np.zeros((8, 6))
    expected.T[:, ::2] = losskit.PseudoHuberLoss(delta=0.7).grad(x.contiguous().numpy(),
                                                                  target.numpy())
    np.testing.assert_array_equal(leaf.grad.numpy(), expected)
    with torch.no_grad():
        assert loss(leaf, base).grad_fn is None


def test_rowwise_non_contiguous_scores():
    rng = np.random.default_rng(8)
    scores = torch.tensor(rng.normal(size=(5, 7)))[:, 1:5].requires_grad_()
    labels = torch.tensor(rng.integers(0, 4, 5))
    value = lt.CrossEntropyLoss()(scores, labels)
    value.backward()
    v, g = losskit.CrossEntropyLoss().value_and_grad(scores.detach().numpy(), labels.numpy())
    assert value.item() == pytest.approx(v, rel=1e-15)
    np.testing.assert_array_equal(scores.grad.numpy(), g)


# ---- errors: losskit's own, before anything is written --------------------------------------
def _numpy_error(call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return info.type, str(info.value)


@pytest.mark.parametrize("name,params", [
    ("huber", {"delta": -1.0}), ("huber", {"delta": "1"}), ("mse", {"reduction": "avg"}),
    ("cross_entropy", {"label_smoothing": 1.5}), ("barron", {"scale": 0.0}),
    ("triplet_margin", {"p": -2.0}), ("kl_div", {"log_target": 1}),
])
def test_bad_parameters_raise_losskit_errors(name, params):
    expected = _numpy_error(lambda: losskit.get_loss(name, **params))
    assert _numpy_error(lambda: _module(name, **params)) == expected


def test_bad_assignment_leaves_the_module_unchanged():
    module = lt.HuberLoss(delta=0.5)
    with pytest.raises(ValueError, match="delta"):
        module.delta = -1.0
    assert module.delta == 0.5
    x = torch.tensor([2.0], requires_grad=True)
    module(x, torch.zeros(1)).backward()
    assert x.grad.item() == 0.5
    module.delta = 3.0
    assert module(torch.tensor([2.0]), torch.zeros(1)).item() == 2.0


@pytest.mark.parametrize("make", [
    lambda: (torch.zeros(3), torch.zeros(4)),                       # shapes
    lambda: (torch.zeros(3), torch.zeros((3, 1))),
])
def test_bad_shapes_raise_losskit_errors(make):
    x, y = make()
    expected = _numpy_error(lambda: losskit.MSELoss()(x.numpy(), y.numpy()))
    leaf = x.clone().requires_grad_()
    assert _numpy_error(lambda: lt.MSELoss()(leaf, y)) == expected
    assert leaf.grad is None


def test_bad_labels_raise_losskit_errors():
    scores = torch.zeros((3, 4), requires_grad=True)
    labels = torch.tensor([0, 4, 1])
    expected = _numpy_error(lambda: losskit.CrossEntropyLoss()(scores.detach().numpy(),
                                                               labels.numpy()))
    assert _numpy_error(lambda: lt.CrossEntropyLoss()(scores, labels)) == expected
    assert scores.grad is None
    expected = _numpy_error(lambda: losskit.BCELoss()(np.array([1.5]), np.array([1.0])))
    assert _numpy_error(lambda: lt.BCELoss()(torch.tensor([1.5], requires_grad=True),
                                             torch.tensor([1.0]))) == expected


def test_bad_var_shape_raises_losskit_error():
    x, y = torch.zeros((4, 3)), torch.zeros((4, 3))
    var = torch.ones((2, 3))
    expected = _numpy_error(lambda: losskit.GaussianNLLLoss()(x.numpy(), y.numpy(),
                                                              var.numpy()))
    assert _numpy_error(lambda: lt.GaussianNLLLoss()(x, y, var)) == expected


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, torch.complex64])
def test_wrong_dtype(dtype):
    with pytest.raises(TypeError, match="input must be a float32 or float64 tensor"):
        lt.MSELoss()(torch.zeros(3, dtype=dtype), torch.zeros(3))


def test_wrong_device():
    with pytest.raises(ValueError, match="input must be on the CPU"):
        lt.MSELoss()(torch.zeros(3, device="meta"), torch.zeros(3))
    with pytest.raises(ValueError, match="target must be on the CPU"):
        lt.MSELoss()(torch.zeros(3), torch.zeros(3, device="meta"))


def test_target_and_weights_requiring_grad_are_refused():
    x = torch.zeros(3, requires_grad=True)
    for module in (lt.KLDivLoss(), lt.PoissonNLLLoss(), lt.SoftMarginLoss()):
        with pytest.raises(ValueError, match="target requires grad"):
            module(x, torch.zeros(3, requires_grad=True))
    with pytest.raises(ValueError, match="sample_weight requires grad"):
        lt.MSELoss()(x, torch.zeros(3), sample_weight=torch.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match="delta requires grad"):
        lt.HuberLoss(delta=torch.nn.Parameter(torch.tensor(1.0)))
    with pytest.raises(TypeError, match="takes 2 arrays"):
        lt.MSELoss()(x)


# ---- torch.compile --------------------------------------------------------------------------
def test_compile_fullgraph_matches_eager():
    """Dynamo traces the modules without graph breaks and AOTAutograd differentiates the
    operator through its fake and autograd implementations (the aot_eager backend: inductor
    only adds code generation around the operator, and a cold compile takes ~40 s here)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 4)
    ce, huber = lt.CrossEntropyLoss(label_smoothing=0.1), lt.HuberLoss(delta=0.5)

    def step(x, labels, y):
        out = model(x)
        return ce(out, labels) + huber(out[:, 0], y)

    x = torch.randn(16, 5)
    labels = torch.randint(0, 4, (16,))
    y = torch.randn(16)
    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    value = compiled(x, labels, y)
    value.backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected = step(x, labels, y)
    expected.backward()
    torch.testing.assert_close(value, expected)
    for g, p in zip(got, model.parameters()):
        torch.testing.assert_close(g, p.grad)


# ---- the adaptive loss ----------------------------------------------------------------------
def _adaptive_reference(x, latent_alpha, latent_scale, lo=0.001, hi=1.999, scale_lo=1e-5,
                        scale_init=1.0):
    """robust_loss_pytorch's parameterisation and NLL, written in torch; log Z from losskit."""
    alpha = lo + (hi - lo) * torch.sigmoid(latent_alpha)
    scale = scale_lo + (scale_init - scale_lo) * F.softplus(latent_scale + math.log(math.e - 1))
    b = torch.abs(alpha - 2)
    rho = b / alpha * (((x / scale) ** 2 / b + 1) ** (alpha / 2) - 1)
    log_z = torch.tensor(losskit.barron_log_partition(alpha.detach().numpy()))
    return rho + torch.log(scale) + log_z


def test_adaptive_matches_reference_and_losskit():
    rng = np.random.default_rng(9)
    adaptive = lt.AdaptiveLossFunction(num_dims=3, float_dtype=np.float64, alpha_init=0.7,
                                       scale_init=0.5)
    assert [n for n, _ in adaptive.named_parameters()] == ["latent_alpha", "latent_scale"]
    assert adaptive.latent_alpha.shape == (1, 3)
    with torch.no_grad():
        adaptive.latent_alpha.copy_(torch.tensor([[-0.5, 0.3, 1.2]]))
        adaptive.latent_scale.copy_(torch.tensor([[0.2, -0.4, 0.0]]))
    torch.testing.assert_close(adaptive.alpha().detach(),
                               0.001 + 1.998 * torch.sigmoid(adaptive.latent_alpha.detach()))
    x = torch.tensor(rng.normal(0, 1.5, (7, 3)), requires_grad=True)
    per = adaptive.lossfun(x)
    assert per.shape == (7, 3)
    expected = _adaptive_reference(x, adaptive.latent_alpha, adaptive.latent_scale,
                                   scale_init=0.5)
    torch.testing.assert_close(per, expected, rtol=1e-10, atol=1e-12)
    # the same NLL as losskit's own adaptive loss (NumPy), with its latents
    numpy_loss = losskit.AdaptiveBarronLoss(num_dims=3, scale_init=0.5, reduction="none")
    numpy_loss.params[0][...] = adaptive.latent_alpha.detach().numpy()[0]
    numpy_loss.params[1][...] = adaptive.latent_scale.detach().numpy()[0]
    np.testing.assert_allclose(per.detach().numpy(),
                               numpy_loss(x.detach().numpy(), np.zeros((7, 3))), rtol=1e-12)
    # gradients in x and the latents (log Z's derivative against finite differences)
    weights = torch.tensor(rng.uniform(size=(7, 3)))

    def f(x, la, ls):
        with torch.no_grad():
            adaptive.latent_alpha.copy_(la)
            adaptive.latent_scale.copy_(ls)
        return (adaptive.lossfun(x) * weights).sum()

    adaptive.zero_grad()
    (per * weights).sum().backward()
    eps = 1e-6
    la, ls = adaptive.latent_alpha.detach().clone(), adaptive.latent_scale.detach().clone()
    for param, latent in ((adaptive.latent_alpha, la), (adaptive.latent_scale, ls)):
        grad = param.grad.clone()
        for j in range(3):
            step = torch.zeros_like(latent)
            step[0, j] = eps
            args = [(la + step, ls), (la - step, ls)] if latent is la else \
                [(la, ls + step), (la, ls - step)]
            with torch.no_grad():
                numeric = (f(x, *args[0]) - f(x, *args[1])) / (2 * eps)
            assert grad[0, j].item() == pytest.approx(numeric.item(), rel=1e-6, abs=1e-8)


def test_adaptive_fixed_alpha_and_errors():
    fixed = lt.AdaptiveLossFunction(2, np.float32, alpha_lo=1.0, alpha_hi=1.0,
                                    alpha_init=0.3, scale_lo=0.5, scale_init=0.5)
    assert list(fixed.parameters()) == []
    assert fixed.state_dict() == {}
    x = torch.tensor([[0.5, -3.0]])
    expected = (torch.sqrt((x / 0.5) ** 2 + 1) - 1 + math.log(0.5)
                + losskit.barron_log_partition(1.0))
    torch.testing.assert_close(fixed.lossfun(x), expected)
    torch.testing.assert_close(fixed.lossfun(x.numpy()), expected)  # arrays, as the reference
    with pytest.raises(ValueError, match="alpha_hi"):
        lt.AdaptiveLossFunction(1, np.float32, alpha_lo=1.0, alpha_hi=0.5)
    with pytest.raises(ValueError, match="float_dtype"):
        lt.AdaptiveLossFunction(1, np.int32)
    with pytest.raises(ValueError, match="device"):
        lt.AdaptiveLossFunction(1, np.float32, device="meta")
    adaptive = lt.AdaptiveLossFunction(2, np.float32)
    with pytest.raises(ValueError, match="shape"):
        adaptive.lossfun(torch.zeros((4, 3)))
    with pytest.raises(TypeError, match="dtype"):
        adaptive.lossfun(torch.zeros((4, 2), dtype=torch.float64))


def test_adaptive_trains_a_robust_line():
    """A line fit with 15% gross outliers: the adaptive loss learns a small alpha and recovers
    the line that least squares misses."""
    rng = np.random.default_rng(10)
    n = 400
    x = rng.uniform(-1, 1, n)
    y = 2.0 * x - 0.5 + rng.normal(0, 0.05, n)
    outliers = rng.random(n) < 0.15
    y[outliers] += rng.uniform(3, 8, int(outliers.sum()))
    X, Y = torch.tensor(x[:, None], dtype=torch.float32), torch.tensor(y[:, None],
                                                                       dtype=torch.float32)
    line = torch.nn.Linear(1, 1)
    adaptive = lt.AdaptiveLossFunction(1, np.float32)
    optimizer = torch.optim.Adam([*line.parameters(), *adaptive.parameters()], lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = adaptive.lossfun(line(X) - Y).mean()
        loss.backward()
        optimizer.step()
    assert line.weight.item() == pytest.approx(2.0, abs=0.05)
    assert line.bias.item() == pytest.approx(-0.5, abs=0.05)
    assert adaptive.alpha().item() < 1.0
    assert adaptive.scale().item() < 0.2


def test_docstring_examples():
    """Every public name has a docstring, and its Examples run as written."""
    import doctest

    for name in lt.__all__:
        assert getattr(lt, name).__doc__, name
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(lt, "losskit.torch"):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0 and results.attempted > 5 * len(lt.__all__)
