"""The physical limit: a STREAM-like kernel with the access shape of value+grad.

The kernel reads two arrays, writes one and reduces one scalar::

    g[i] = a[i] - b[i];   s += g[i] * g[i]

which is exactly the memory traffic of a fused elementwise loss value+gradient
(read input and target, write the gradient, return a sum). A second kernel
(``bind1``) has the read-1-write-1 shape of a row-wise classification loss
(``g[i] = a[i]; s += a[i]*a[i]``: read the logits, write the gradient). It is written in C,
compiled at run time with the system compiler (``cc -O3 -march=native -fopenmp``)
into a temporary directory and loaded with :mod:`ctypes`. The sum is
accumulated in double (as a careful loss kernel would). The repeat loop lives
in C, so small sizes are timed without the ctypes call overhead in the loop.

If no compiler is available (or compiling fails) :func:`build` returns ``None``
and a human-readable reason; the harness then skips the bandwidth reference.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

# Below this many elements the kernel stays on one thread (a fork/join costs
# about a microsecond, more than the whole loop at small sizes).
PARALLEL_MIN = 32768

_KERNEL = r"""
double lk_stream_%(suffix)s(const %(T)s *restrict a, const %(T)s *restrict b,
                       %(T)s *restrict g, long n, int nthreads, long reps)
{
    double total = 0.0;
    /* Two explicit loops rather than an if() clause: GCC compiles the
       if(false) path of "parallel for simd" as a plain, unvectorised loop. */
    for (long k = 0; k < reps; ++k) {
        double acc = 0.0;
        if (nthreads > 1 && n >= PARALLEL_MIN) {
#pragma omp parallel for simd schedule(static) reduction(+:acc) num_threads(nthreads)
            for (long i = 0; i < n; ++i) {
                %(T)s d = a[i] - b[i];
                g[i] = d;
                acc += (double)(d * d);
            }
        } else {
#pragma omp simd reduction(+:acc)
            for (long i = 0; i < n; ++i) {
                %(T)s d = a[i] - b[i];
                g[i] = d;
                acc += (double)(d * d);
            }
        }
        total = acc;
    }
    return total;
}
"""

# The read-1-write-1 shape (row-wise classification losses: the logits are read,
# the gradient written; the N integer labels are not counted):
#     g[i] = a[i];   s += a[i] * a[i]
_KERNEL1 = r"""
double lk_stream1_%(suffix)s(const %(T)s *restrict a, %(T)s *restrict g,
                        long n, int nthreads, long reps)
{
    double total = 0.0;
    for (long k = 0; k < reps; ++k) {
        double acc = 0.0;
        if (nthreads > 1 && n >= PARALLEL_MIN) {
#pragma omp parallel for simd schedule(static) reduction(+:acc) num_threads(nthreads)
            for (long i = 0; i < n; ++i) {
                %(T)s d = a[i];
                g[i] = d;
                acc += (double)(d * d);
            }
        } else {
#pragma omp simd reduction(+:acc)
            for (long i = 0; i < n; ++i) {
                %(T)s d = a[i];
                g[i] = d;
                acc += (double)(d * d);
            }
        }
        total = acc;
    }
    return total;
}
"""

_C_SOURCE = (
    "#include <stddef.h>\n"
    f"#define PARALLEL_MIN {PARALLEL_MIN}\n"
    + _KERNEL % {"suffix": "f32", "T": "float"}
    + _KERNEL % {"suffix": "f64", "T": "double"}
    + _KERNEL1 % {"suffix": "f32", "T": "float"}
    + _KERNEL1 % {"suffix": "f64", "T": "double"}
    + r"""
int lk_stream_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}
"""
)


class StreamKernel:
    """The compiled kernels, callable on NumPy arrays."""

    def __init__(self, lib: ctypes.CDLL, command: list[str], openmp: bool):
        self._lib = lib
        self.command = command
        self.openmp = openmp
        self._funcs = {}
        for dt, name, ctype in (
            (np.dtype(np.float32), "lk_stream_f32", ctypes.c_float),
            (np.dtype(np.float64), "lk_stream_f64", ctypes.c_double),
        ):
            f = getattr(lib, name)
            ptr = ctypes.POINTER(ctype)
            f.argtypes = [ptr, ptr, ptr, ctypes.c_long, ctypes.c_int, ctypes.c_long]
            f.restype = ctypes.c_double
            self._funcs[dt] = (f, ptr)
        self._funcs1 = {}
        for dt, name, ctype in (
            (np.dtype(np.float32), "lk_stream1_f32", ctypes.c_float),
            (np.dtype(np.float64), "lk_stream1_f64", ctypes.c_double),
        ):
            f = getattr(lib, name)
            ptr = ctypes.POINTER(ctype)
            f.argtypes = [ptr, ptr, ctypes.c_long, ctypes.c_int, ctypes.c_long]
            f.restype = ctypes.c_double
            self._funcs1[dt] = (f, ptr)

    def bind(self, a: np.ndarray, b: np.ndarray, g: np.ndarray, threads: int):
        """Return ``run(reps) -> sum of squares`` bound to these arrays."""
        dt = a.dtype
        if not (a.dtype == b.dtype == g.dtype) or dt not in self._funcs:
            raise TypeError(f"stream kernel: unsupported dtypes {a.dtype}, {b.dtype}, {g.dtype}")
        for arr in (a, b, g):
            if not arr.flags.c_contiguous:
                raise ValueError("stream kernel: arrays must be C-contiguous")
        if not (a.size == b.size == g.size):
            raise ValueError("stream kernel: size mismatch")
        f, ptr = self._funcs[dt]
        pa = a.ctypes.data_as(ptr)
        pb = b.ctypes.data_as(ptr)
        pg = g.ctypes.data_as(ptr)
        n = ctypes.c_long(a.size)
        nt = ctypes.c_int(max(1, int(threads)))
        keep = (a, b, g)  # keep the buffers alive as long as the closure

        def run(reps: int = 1, _keep=keep) -> float:
            return f(pa, pb, pg, n, nt, ctypes.c_long(reps))

        return run


    def bind1(self, a: np.ndarray, g: np.ndarray, threads: int):
        """The read-1-write-1 kernel (``g = a; s += a*a``): ``run(reps) -> sum of squares``."""
        dt = a.dtype
        if a.dtype != g.dtype or dt not in self._funcs1:
            raise TypeError(f"stream kernel: unsupported dtypes {a.dtype}, {g.dtype}")
        for arr in (a, g):
            if not arr.flags.c_contiguous:
                raise ValueError("stream kernel: arrays must be C-contiguous")
        if a.size != g.size:
            raise ValueError("stream kernel: size mismatch")
        f, ptr = self._funcs1[dt]
        pa = a.ctypes.data_as(ptr)
        pg = g.ctypes.data_as(ptr)
        n = ctypes.c_long(a.size)
        nt = ctypes.c_int(max(1, int(threads)))
        keep = (a, g)

        def run(reps: int = 1, _keep=keep) -> float:
            return f(pa, pg, n, nt, ctypes.c_long(reps))

        return run


def build(cc: str | None = None, verbose: bool = False) -> tuple[StreamKernel | None, str]:
    """Compile and load the kernel. Returns ``(kernel or None, message)``."""
    compiler = cc or "cc"
    exe = shutil.which(compiler)
    if exe is None:
        return None, f"no C compiler found ({compiler!r} not on PATH): bandwidth reference skipped"
    tmp = tempfile.mkdtemp(prefix="losskit-bench-stream-")
    try:
        src = os.path.join(tmp, "stream.c")
        lib_path = os.path.join(tmp, "libstream.so")
        with open(src, "w") as fh:
            fh.write(_C_SOURCE)
        attempts = [
            [exe, "-O3", "-march=native", "-fopenmp", "-std=c11", "-shared", "-fPIC", "-o", lib_path, src],
            # Fallbacks: no -march=native (odd compilers), then no OpenMP (threads ignored).
            [exe, "-O3", "-fopenmp", "-std=c11", "-shared", "-fPIC", "-o", lib_path, src],
            [exe, "-O3", "-march=native", "-fopenmp-simd", "-std=c11", "-shared", "-fPIC", "-o", lib_path, src],
            [exe, "-O3", "-march=native", "-std=c11", "-shared", "-fPIC", "-o", lib_path, src],
        ]
        errors = []
        for cmd in attempts:
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ, LC_ALL="C")
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{' '.join(cmd)}: {exc}")
                continue
            if proc.returncode == 0 and os.path.exists(lib_path):
                try:
                    lib = ctypes.CDLL(lib_path)
                except OSError as exc:
                    errors.append(f"loading {lib_path}: {exc}")
                    continue
                openmp = bool(lib.lk_stream_openmp())
                kernel = StreamKernel(lib, cmd, openmp)
                flags = [c for c in cmd[1:] if c.startswith("-") and c not in ("-o", "-shared", "-fPIC")]
                msg = f"{compiler} {' '.join(flags)}"
                if not openmp:
                    msg += " (no OpenMP: the bandwidth reference runs on 1 thread)"
                return kernel, msg
            err_lines = [ln for ln in proc.stderr.splitlines() if "error" in ln] or proc.stderr.splitlines()
            errors.append(f"{os.path.basename(exe)} {' '.join(cmd[1:4])}...: " + (err_lines[0].strip() if err_lines else f"exit {proc.returncode}"))
        detail = "; ".join(errors) if verbose else (errors[0] if errors else "")
        return None, f"compiling the bandwidth kernel failed: bandwidth reference skipped ({detail})"
    finally:
        # The loaded library stays mapped after its file is removed.
        shutil.rmtree(tmp, ignore_errors=True)
