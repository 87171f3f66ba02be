"""losskit: vectorized loss functions, analytic gradients and update rules.

A SIMD/OpenMP C++ core (one build, runtime CPU dispatch: sse2, avx2, avx512) with NumPy
bindings. Every loss gives its value, its gradient, or both in one fused pass::

    >>> import numpy as np, losskit
    >>> loss = losskit.HuberLoss(delta=1.0)
    >>> value, grad = loss.value_and_grad(np.array([0.5, 3.0]), np.array([0.0, 0.0]))

Results are bitwise identical for any thread count.
"""

from __future__ import annotations

import os as _os

# Idle OpenMP workers (GCC's libgomp) spin for ~300k iterations after each parallel region by
# default; on a machine with few cores they then hold the cores NumPy's BLAS needs next (a
# 0.04 ms matmul right after a threaded losskit call took 8 ms). A short spin keeps
# back-to-back losskit calls as fast and releases the cores (the pair: 0.18 ms). Set before the
# extension loads libgomp, and only when the user has chosen neither setting.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "3000"

from . import _core, _losses, optim
from ._barron import AdaptiveBarronLoss, barron_log_partition
from ._base import ElementwiseLoss, Loss, RowwiseLoss, available_losses, get_loss
from ._utils import (
    ElasticNetPenalty,
    GradcheckResult,
    L1Penalty,
    L2Penalty,
    MinibatchSampler,
    clip_grad_norm,
    clip_grad_value,
    gather,
    grad_norm,
    gradcheck,
    numerical_gradient,
)

__version__ = "0.2.0"



def get_num_threads() -> int:
    """The number of threads the kernels use above their size threshold.

    Examples
    --------
    >>> import losskit
    >>> losskit.get_num_threads() >= 1
    True
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads the kernels use above their size threshold.

    Results do not depend on it: every kernel sums fixed blocks in a fixed order, so any
    number of threads gives the same bits. ``OMP_NUM_THREADS`` sets the default.

    Parameters
    ----------
    n : int
        1 <= n <= 1024 (OpenMP would end the process if it could not start the threads).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> x = np.linspace(-3.0, 3.0, 1_000_000)
    >>> before = losskit.get_num_threads()
    >>> losskit.set_num_threads(1)
    >>> one = losskit.HuberLoss()(x, np.zeros_like(x))
    >>> losskit.set_num_threads(2)
    >>> bool(losskit.HuberLoss()(x, np.zeros_like(x)) == one)    # the same bits
    True
    >>> losskit.set_num_threads(before)
    """
    _core.set_num_threads(n)


def get_isa() -> str:
    """The instruction set the kernels run on: ``"sse2"``, ``"avx2"`` or ``"avx512"``.

    Chosen when losskit is loaded (the best one this build holds and the CPU supports), or
    by ``LOSSKIT_ISA`` in the environment, or by :func:`set_isa`.

    Examples
    --------
    >>> import losskit
    >>> losskit.get_isa() in losskit.available_isas()
    True
    """
    return _core.get_isa()


def set_isa(isa: str) -> None:
    """Run the kernels on the instruction set ``isa``, one of :func:`available_isas`.

    For tests and benchmarks: results may differ in the last bits between instruction sets
    (FMA), never between thread counts.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> before = losskit.get_isa()
    >>> losskit.set_isa("sse2")               # every build holds the sse2 kernels
    >>> losskit.get_isa()
    'sse2'
    >>> losskit.set_isa(before)
    """
    _core.set_isa(isa)


def available_isas() -> list[str]:
    """The instruction sets compiled into this build and supported by this CPU, lowest first.

    Examples
    --------
    >>> import losskit
    >>> losskit.available_isas()[0]
    'sse2'
    """
    return _core.available_isas()


def __getattr__(name: str) -> object:
    # the estimators import scikit-learn (when installed) to inherit its base classes: load
    # them on first use so that `import losskit` stays light
    if name in ("LinearRegressor", "LinearClassifier", "ConvergenceWarning"):
        from . import _estimators

        return getattr(_estimators, name)
    if name == "functional":  # generated from the registry on first use
        import importlib

        return importlib.import_module(".functional", __name__)
    raise AttributeError(f"module 'losskit' has no attribute {name!r}")


def get_include() -> str:
    """The include directory a C, C++ or Cython build against losskit needs.

    It holds the public headers: ``losskit/losskit.hpp`` (the C++ API), ``losskit/losskit.h``
    (the C ABI) and ``losskit/point.hpp`` (the per-point functions, header-only, over the loss
    definitions in ``losskit/definitions/``). Cython finds losskit's ``.pxd`` files
    (``losskit/point.pxd``, ``losskit/kernels.pxd``) in the installed package itself, so a
    Cython extension needs only this directory on its include path and no library to link.

    Returns
    -------
    str
        The absolute path of the ``include`` directory inside the installed package.

    Examples
    --------
    >>> import os, losskit
    >>> os.path.isfile(os.path.join(losskit.get_include(), "losskit", "point.hpp"))
    True

    In a setuptools ``setup.py`` building a Cython extension that cimports losskit::

        Extension("fit", ["fit.pyx"], language="c++", include_dirs=[losskit.get_include()],
                  extra_compile_args=["-std=c++17"])
    """
    return _os.path.join(_os.path.dirname(__file__), "include")


def get_cmake_dir() -> str:
    """The directory holding losskitConfig.cmake, for ``losskit_DIR`` / ``CMAKE_PREFIX_PATH``.

    Examples
    --------
    >>> import losskit
    >>> define = f"-Dlosskit_DIR={losskit.get_cmake_dir()}"    # for cmake's command line
    """
    return _os.path.join(_os.path.dirname(__file__), "lib", "cmake", "losskit")


def get_library() -> str:
    """The path of the shared library ``liblosskit.so``, for loading losskit's C ABI
    (``losskit/losskit.h``) at run time: Julia's ``ccall``, R's ``dyn.load``, Python's
    :mod:`ctypes`, Rust's and Go's FFIs.

    Examples
    --------
    >>> import ctypes, losskit
    >>> lib = ctypes.CDLL(losskit.get_library())
    >>> lib.losskit_version.restype = ctypes.c_char_p
    >>> lib.losskit_version().decode() == losskit.__version__
    True
    """
    return _os.path.join(_os.path.dirname(__file__), "lib", "liblosskit.so")


# The loss classes, one per definition in src/cpp/include/losskit/definitions/.
globals().update(_losses.CLASSES)

__all__ = [
    "Loss",
    "ElementwiseLoss",
    "RowwiseLoss",
    *_losses.__all__,
    "AdaptiveBarronLoss",
    "get_loss",
    "available_losses",
    "barron_log_partition",
    "get_num_threads",
    "set_num_threads",
    "get_isa",
    "set_isa",
    "available_isas",
    "get_include",
    "get_cmake_dir",
    "get_library",
    "optim",
    "functional",
    "clip_grad_norm",
    "clip_grad_value",
    "grad_norm",
    "L1Penalty",
    "L2Penalty",
    "ElasticNetPenalty",
    "MinibatchSampler",
    "gather",
    "numerical_gradient",
    "gradcheck",
    "GradcheckResult",
    "LinearRegressor",
    "LinearClassifier",
    "ConvergenceWarning",
]
