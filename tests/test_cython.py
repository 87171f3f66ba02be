"""losskit's Cython API, as a consumer uses it: tests/cython/consumer.pyx is compiled once per
session with setuptools and Cython against the installed package (``losskit.get_include()``, the
shipped .pxd files) and checked against the Python API and the NumPy references."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import losskit
from reference import barron_grad, barron_value, huber_grad, huber_value

pytest.importorskip("Cython")
pytest.importorskip("setuptools")

CONSUMER = Path(__file__).parent / "cython" / "consumer.pyx"

SETUP = textwrap.dedent("""
    import losskit
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    extension = Extension("consumer", ["consumer.pyx"], language="c++",
                          include_dirs=[losskit.get_include()],
                          extra_compile_args=["-std=c++17", "-O1"])
    setup(name="consumer", ext_modules=cythonize([extension], language_level=3, quiet=True))
""")


@pytest.fixture(scope="session")
def consumer(tmp_path_factory):
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler")
    build = tmp_path_factory.mktemp("cython_consumer")
    shutil.copy(CONSUMER, build / "consumer.pyx")
    (build / "setup.py").write_text(SETUP)
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=build,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (built,) = build.glob("consumer*.so")
    spec = importlib.util.spec_from_file_location("consumer", built)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_get_include_holds_the_headers_and_the_package_the_pxd_files():
    include = Path(losskit.get_include())
    for header in ("point.hpp", "point_functions.hpp", "losskit.h", "definitions/barron.hpp",
                   "simd/vec.hpp"):
        assert (include / "losskit" / header).is_file(), header
    package = Path(losskit.__file__).parent
    assert (package / "point.pxd").is_file() and (package / "kernels.pxd").is_file()
    kernels = importlib.import_module("losskit.kernels")
    assert {"value_and_grad_f64", "grad_hess_f32", "rowwise_value_and_grad_f64",
            "last_error"} <= set(kernels.__pyx_capi__)


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, n)
    y = rng.normal(0, 1, n)
    x[:4] = y[:4] + np.array([0.0, 1.0, -1.0, 0.5])  # at and around Huber's kinks (delta 1)
    return x, y


@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_points_match_the_python_api_and_the_reference(consumer, delta):
    x, y = data()
    value, grad, fused_disagreement, hess, irls, grad2 = consumer.huber_points(x, y, delta)
    loss = losskit.HuberLoss(delta=delta, reduction="none")
    np.testing.assert_allclose(value, loss(x, y), rtol=1e-15, atol=0)
    np.testing.assert_allclose(value, huber_value(x, y, delta), rtol=1e-14, atol=1e-300)
    sum_loss = losskit.HuberLoss(delta=delta, reduction="sum")
    np.testing.assert_allclose(grad, sum_loss.grad(x, y), rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad, huber_grad(x, y, delta), rtol=1e-14, atol=1e-300)
    assert np.all(fused_disagreement == 0)
    g, h = sum_loss.grad_hess(x, y, hessian="exact")
    np.testing.assert_array_equal(grad2, g)
    np.testing.assert_array_equal(hess, h)
    np.testing.assert_array_equal(irls, sum_loss.grad_hess(x, y, hessian="irls")[1])
    xf, yf = x.astype(np.float32), y.astype(np.float32)
    gf = consumer.huber_points_f32(xf, yf, delta)
    assert gf.dtype == np.float32
    np.testing.assert_allclose(gf, sum_loss.grad(xf, yf), rtol=2e-7, atol=0)


@pytest.mark.parametrize("alpha", [-2.0, 0.0, 1e-9, 1.0, 1.999, 2.0, 4.0, -np.inf])
def test_barron_points_match_the_python_api_and_the_reference(consumer, alpha):
    x, y = data()
    scale = 0.7
    value, grad, d_alpha, d_scale = consumer.barron_points(x, y, alpha, scale)
    v, g, da, ds = losskit.BarronLoss(alpha=alpha, scale=scale, reduction="none").value_and_grads(x, y)
    np.testing.assert_allclose(value, v, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(grad, g, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(d_alpha, da, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(d_scale, ds, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(value, barron_value(x, y, alpha, scale), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(grad, barron_grad(x, y, alpha, scale), rtol=1e-13, atol=1e-300)
    # d/dscale = -(r/c) d/dx, and d/dalpha against a central difference of the reference
    np.testing.assert_allclose(d_scale, -(x - y) / scale * grad, rtol=1e-13, atol=1e-300)
    if np.isfinite(alpha) and alpha != 2.0:
        h = 1e-6
        numeric = (barron_value(x, y, alpha + h, scale) - barron_value(x, y, alpha - h, scale)) / (2 * h)
        np.testing.assert_allclose(d_alpha, numeric, rtol=2e-6, atol=1e-9)


def test_a_three_argument_loss_has_every_gradient(consumer):
    x, y = data()
    var = np.random.default_rng(1).uniform(0.1, 3.0, x.size)
    value, grad, d_var = consumer.gaussian_nll_points(x, y, var)
    v, g, dv = losskit.GaussianNLLLoss(reduction="none").value_and_grads(x, y, var)
    np.testing.assert_allclose(value, v, rtol=1e-15)
    np.testing.assert_allclose(grad, g, rtol=1e-15)
    np.testing.assert_allclose(d_var, dv, rtol=1e-15)


def sgd_reference(X, y, lr, epochs, grad):
    w = np.zeros(X.shape[1])
    for _ in range(epochs):
        for i in range(X.shape[0]):
            w -= lr * grad(X[i] @ w, y[i]) * X[i]
    return w


def test_per_sample_sgd_with_huber_matches_a_numpy_loop_and_fits(consumer):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    w_true = np.array([1.5, -2.0, 0.5])
    y = X @ w_true + 0.05 * rng.normal(size=200)
    y[::20] += 30.0  # outliers, which Huber's bounded gradient ignores
    w, total = consumer.sgd_huber(X, y, 1.0, 0.05, 8)
    expected = sgd_reference(X, y, 0.05, 8, lambda p, t: float(huber_grad(p, t, 1.0)))
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-14)
    assert np.abs(w - w_true).max() < 0.2
    assert total > 0


def test_per_sample_sgd_with_barron_learns_alpha_and_scale(consumer):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = X @ np.array([1.0, -1.0]) + 0.1 * rng.normal(size=300)
    w, alpha, scale = consumer.sgd_barron(X, y, 1.0, 1.0, 0.02, 6)
    # the same loop in NumPy, with the reference gradient in x and the Python API's in alpha
    # and scale
    wr, a, c = np.zeros(2), 1.0, 1.0
    for _ in range(6):
        for i in range(300):
            p = X[i] @ wr
            _, _, da, dc = losskit.BarronLoss(alpha=a, scale=c, reduction="sum").value_and_grads(
                np.array([p]), np.array([y[i]]))
            wr = wr - 0.02 * float(barron_grad(p, y[i], a, c)) * X[i]
            a -= 0.02 * float(da[0])
            c = max(0.05, c - 0.02 * float(dc[0]))
    np.testing.assert_allclose(w, wr, rtol=1e-10)
    np.testing.assert_allclose([alpha, scale], [a, c], rtol=1e-10)
    assert np.abs(w - [1.0, -1.0]).max() < 0.1


@pytest.mark.parametrize("n_threads", [0, 1, 2])
def test_array_kernel_over_strided_views_matches_the_python_call(consumer, n_threads):
    rng = np.random.default_rng(4)
    n = 5000
    base = rng.normal(size=(n, 2))
    x = base[:, 0]  # stride 2
    y = rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=2 * n)[::2]
    grad_buffer = np.full(3 * n, 9.0)
    grad = grad_buffer[1::3]
    loss = losskit.HuberLoss(delta=0.5, reduction="mean")
    value = consumer.value_and_grad(b"huber", {b"delta": 0.5}, 2, x, y, w, grad, n_threads)
    v, g = loss.value_and_grad(x, y, sample_weight=w)
    assert value == v
    np.testing.assert_array_equal(grad, g)
    assert np.all(grad_buffer[0::3] == 9.0) and np.all(grad_buffer[2::3] == 9.0)
    np.testing.assert_allclose(value, np.sum(w * huber_value(x, y, 0.5)) / np.sum(w), rtol=1e-13)


def test_array_kernel_grad_hess_float32(consumer):
    x, y = (a.astype(np.float32) for a in data())
    grad, hess = np.empty_like(x), np.empty_like(x)
    consumer.grad_hess(b"log_cosh", x, y, grad, hess)
    g, h = losskit.LogCoshLoss(reduction="sum").grad_hess(x, y)
    np.testing.assert_array_equal(grad, g)
    np.testing.assert_array_equal(hess, h)


def test_rowwise_kernel_reads_rows_with_a_stride(consumer):
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(50, 7))  # the first 5 columns are the classes
    labels = rng.integers(0, 5, size=100)[::2]
    grad = np.full((50, 6), 3.0)
    value = consumer.rowwise(b"cross_entropy", 2, scores, 5, labels, grad)
    v, g = losskit.CrossEntropyLoss().value_and_grad(scores[:, :5].copy(), labels)
    assert value == v
    np.testing.assert_array_equal(grad[:, :5], g)
    assert np.all(grad[:, 5] == 3.0)


def test_bad_input_is_an_error_code_with_a_message_and_writes_nothing(consumer):
    results = consumer.bad_calls()
    expected = {  # status (1 invalid argument, 2 unknown name) and part of the message
        "null input": (1, "input is null"),
        "null target": (1, "target is null"),
        "negative n": (1, "n must be >= 0, got -1"),
        "negative stride": (1, "input_stride must be >= 0, got -1"),
        "zero output stride": (1, "grad_stride must be >= 1, got 0"),
        "negative weight": (1, "sample_weight[2] = -1.0"),
        "negative n_threads": (1, "n_threads must be >= 0"),
        "null loss": (1, "loss is null"),
        "row-wise loss": (1, "cross_entropy is row-wise"),
        "label out of range": (1, "labels[1] = 2 is not a class index in [0, 2)"),
        "row stride below classes": (1, "input_row_stride must be >= classes (2), got 1"),
        "hessian policy": (1, "hessian must be 0 (exact), 1 (irls) or 2 (positive), got 7"),
        "invalid parameter": (1, "delta must be positive"),
        "unknown parameter": (2, "beta"),
        "invalid reduction": (1, "reduction must be"),
        "unknown loss": (2, "no_such_loss"),
    }
    assert set(results) == set(expected)
    for name, (status, fragment) in expected.items():
        got_status, message, untouched = results[name]
        assert got_status == status, (name, got_status, message)
        assert fragment in message, (name, message)
        assert untouched, name
