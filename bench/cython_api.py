"""losskit's Cython API: per-point calls against scikit-learn's, and array-kernel call overhead.

Compiles a small Cython module (setuptools, -O2, in a temporary directory) that runs, in the
same nogil loop over N points, losskit's per-point functions (``losskit/point.pxd``, inlined)
and scikit-learn's ``sklearn._loss._loss`` per-point methods (``CyHuberLoss.cy_gradient`` and
so on, called through the extension type's vtable), summing the results; the two are checked
against each other before timing. Then the array kernel ``value_and_grad_f64`` of
``losskit.kernels`` called from Cython against ``HuberLoss.value_and_grad(..., out=)`` called
from Python, one thread, per call at several sizes::

    python -m losskit.bench.cython_api [--points 1e6] [--rounds 7]

Needs Cython, setuptools, a C++ compiler and scikit-learn (for the per-point comparison).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

# (label, scikit-learn class and its constructor argument, losskit per-point prefix and its
# arguments after (input, target), losskit's value over scikit-learn's: its "half" losses)
PAIRS = [
    ("huber", "CyHuberLoss", "1.0", "huber", ", 1.0", 1.0),
    ("squared error", "CyHalfSquaredError", "", "mse", "", 2.0),
    ("poisson (log link)", "CyHalfPoissonLoss", "", "poisson", "", 1.0),
]
# (label, scikit-learn method, losskit per-point suffix)
OPERATIONS = [("value", "cy_loss", "_value"), ("gradient", "cy_gradient", "_gradient"),
              ("gradient+hessian", "cy_grad_hess", "_gradient_hessian")]

HEADER = """\
# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False
from losskit.kernels cimport Loss, loss_free, loss_new, loss_set_reduction, value_and_grad_f64
from losskit.point cimport *
"""

SKLEARN_HEADER = "from sklearn._loss._loss cimport CyHalfPoissonLoss, CyHalfSquaredError, CyHuberLoss\n"


def _loop(name: str, decl: str, body: str) -> str:
    return textwrap.dedent(f"""
        def {name}(double[::1] x, double[::1] y{decl}):
            cdef Py_ssize_t i
            cdef double s = 0
            with nogil:
                for i in range(x.shape[0]):
                    {body}
            return s
        """)


def module_source(with_sklearn: bool) -> str:
    parts = [HEADER, SKLEARN_HEADER if with_sklearn else ""]
    for _, cls, _, prefix, extra, _ in PAIRS:
        for op, sk_method, suffix in OPERATIONS:
            fn = f"{prefix}{suffix}"
            if op == "gradient+hessian":
                lk = f"h = {fn}(x[i], y[i]{extra})\n                    s += h.gradient + h.hessian"
                sk = f"p = loss.{sk_method}(y[i], x[i])\n                    s += p.val1 + p.val2"
            else:
                lk = f"s += {fn}(x[i], y[i]{extra})"
                sk = f"s += loss.{sk_method}(y[i], x[i])"
            parts.append(_loop(f"losskit_{prefix}_{sk_method}", "", lk).replace(
                "cdef double s = 0", "cdef double s = 0\n    cdef GradHess[double] h"))
            if with_sklearn:
                parts.append(_loop(f"sklearn_{prefix}_{sk_method}", f", {cls} loss", sk).replace(
                    "cdef double s = 0", "cdef double s = 0\n    cdef double_pair p"))
    parts.append(_loop("losskit_barron_value_gradients", "",
                       "r = barron_value_gradients(x[i], y[i], 0.5, 1.0)\n"
                       "                    s += r.value + r.gradient + r.gradient_alpha + r.gradient_scale")
                 .replace("cdef double s = 0", "cdef double s = 0\n    cdef BarronGradients[double] r"))
    parts.append(textwrap.dedent("""
        def kernel_calls(double[::1] x, double[::1] y, double[::1] g, Py_ssize_t calls):
            cdef Loss* loss = NULL
            cdef double v = 0, s = 0
            cdef Py_ssize_t k
            loss_new(b"huber", &loss)
            loss_set_reduction(loss, 2)
            with nogil:
                for k in range(calls):
                    value_and_grad_f64(loss, x.shape[0], &x[0], 1, &y[0], 1, NULL, 0, &v, NULL, 1,
                                       &g[0], 1, 1)
                    s += v
            loss_free(loss)
            return s
        """))
    source = "".join(parts)
    if with_sklearn:
        source = source.replace(SKLEARN_HEADER, SKLEARN_HEADER.rstrip() + ", double_pair\n")
    return source


def build(directory: Path, with_sklearn: bool):
    import losskit

    (directory / "cython_api_bench.pyx").write_text(module_source(with_sklearn))
    (directory / "setup.py").write_text(textwrap.dedent(f"""
        from Cython.Build import cythonize
        from setuptools import Extension, setup
        ext = Extension("cython_api_bench", ["cython_api_bench.pyx"], language="c++",
                        include_dirs=[{losskit.get_include()!r}],
                        extra_compile_args=["-std=c++17", "-O2"])
        setup(name="cython_api_bench", ext_modules=cythonize([ext], quiet=True))
        """))
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=directory,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
    (built,) = directory.glob("cython_api_bench*.so")
    spec = importlib.util.spec_from_file_location("cython_api_bench", built)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def best_interleaved(fns, rounds: int) -> list[float]:
    """The best time of each function, timed round by round in turn (the machine's load
    moves between rounds, not between contenders)."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return [min(t) for t in times]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=float, default=1e6)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    import losskit

    try:
        import sklearn._loss._loss as sk_loss
    except ImportError:
        sk_loss = None
    n = int(args.points)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, n)
    y = rng.uniform(0.1, 3.0, n)  # non-negative targets: the Poisson loss's domain
    with tempfile.TemporaryDirectory() as tmp:
        m = build(Path(tmp), sk_loss is not None)
        print(f"per-point calls in one nogil loop, N = {n:.0e} float64, ns per point "
              f"(best of {args.rounds})")
        print(f"{'loss':<22}{'operation':<18}{'losskit':>9}{'sklearn':>9}{'ratio':>7}")
        for key, cls, ctor, prefix, _, scale in PAIRS:
            for op, sk_method, _ in OPERATIONS:
                ours = getattr(m, f"losskit_{prefix}_{sk_method}")
                if sk_loss is None:
                    t_ours = best(lambda: ours(x, y), args.rounds) / n * 1e9
                    print(f"{key:<22}{op:<18}{t_ours:9.2f}")
                    continue
                loss = getattr(sk_loss, cls)(*([float(ctor)] if ctor else []))
                theirs = getattr(m, f"sklearn_{prefix}_{sk_method}")
                if op == "value":  # the same numbers, up to losskit's full (not half) scale
                    a, b = ours(x, y), theirs(x, y, loss) * scale
                    assert abs(a - b) <= 1e-9 * abs(b), (key, a, b)
                t_ours, t_theirs = (t / n * 1e9 for t in best_interleaved(
                    [lambda: ours(x, y), lambda: theirs(x, y, loss)], args.rounds))
                print(f"{key:<22}{op:<18}{t_ours:9.2f}{t_theirs:9.2f}{t_ours / t_theirs:7.2f}")
        t = best(lambda: m.losskit_barron_value_gradients(x, y), args.rounds) / n * 1e9
        print(f"{'barron (alpha 0.5)':<22}{'value+3 gradients':<18}{t:9.2f}")

        losskit.set_num_threads(1)
        loss = losskit.HuberLoss(reduction="mean")
        print("\narray kernel value_and_grad (huber, mean, float64, one thread), us per call")
        print(f"{'N':>8}{'Cython':>10}{'Python':>10}{'difference':>12}")
        for size in (1, 100, 10_000):
            xs, ys, g = x[:size].copy(), y[:size].copy(), np.empty(size)
            calls = max(200, 2_000_000 // max(size, 100))
            assert m.kernel_calls(xs, ys, g, 1) == loss.value_and_grad(xs, ys)[0]
            t_cy = best(lambda: m.kernel_calls(xs, ys, g, calls), args.rounds) / calls * 1e6

            def python_calls():
                for _ in range(calls):
                    loss.value_and_grad(xs, ys, out=g)

            t_py = best(python_calls, args.rounds) / calls * 1e6
            print(f"{size:>8}{t_cy:10.3f}{t_py:10.3f}{t_py - t_cy:12.3f}")


if __name__ == "__main__":
    main()
