"""The physical limit: STREAM-like kernels with the access shape of each workload.

Each kernel streams over N elements once per call, reading ``R`` arrays and writing ``W``
new ones (or updating ``U`` arrays in place), and reduces one scalar (in double, as a
careful loss kernel would)::

    r2w1   g = a - b; s += g*g               a loss value + gradient (read x and y, write g)
    r1w1   g = a; s += a*a                   a row-wise loss over logits; a gather
    r1u2   u_k = u_k/2 + a (k = 1, 2)        an SGD-momentum step (read g; update p, buffer)
    r1u3   u_k = u_k/2 + a (k = 1, 2, 3)     an Adam step (read g; update p, m, v)

In-place updates skip the write-allocate traffic of a new output, which is why optimizer
steps count more GB/s than the other shapes. The kernels are written in C,
compiled at run time with the system compiler (``cc -O3 -march=native -fopenmp``) into a
temporary directory and loaded with :mod:`ctypes`; the repeat loop lives in C, so small sizes
are timed without the ctypes call overhead. Without a compiler :func:`build` returns None
and a reason; the bandwidth reference is then skipped.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
from typing import Callable

import numpy as np

from .impls import Impl
from .workload import Reference, alloc

# Below this many elements the kernel stays on one thread (a fork/join costs about a
# microsecond, more than the whole loop at small sizes).
PARALLEL_MIN = 32768

SHAPES = {
    "r2w1": "g = a - b; s += g*g (read 2, write 1)",
    "r1w1": "g = a; s += a*a (read 1, write 1)",
    "r1u2": "u_k = u_k/2 + a for 2 arrays (read 1, update 2 in place)",
    "r1u3": "u_k = u_k/2 + a for 3 arrays (read 1, update 3 in place)",
}
_TYPES = {np.dtype(np.float32): ("f32", "float", ctypes.c_float),
          np.dtype(np.float64): ("f64", "double", ctypes.c_double)}


def _arity(shape: str) -> tuple[int, int, bool]:
    """(arrays read, arrays written or updated, in place?) of a shape name."""
    m = re.fullmatch(r"r(\d)([wu])(\d)", shape)
    if m is None:
        raise ValueError(f"unknown stream shape {shape!r}")
    return int(m.group(1)), int(m.group(3)), m.group(2) == "u"


def _kernel_source(shape: str, suffix: str, ctype: str) -> str:
    reads, outs, in_place = _arity(shape)
    params = [f"const {ctype} *restrict a{i}" for i in range(reads)]
    params += [f"{ctype} *restrict o{i}" for i in range(outs)]
    body = f"{ctype} t = " + " - ".join(f"a{i}[i]" for i in range(reads)) + ";"
    for i in range(outs):
        body += f" o{i}[i] = ({ctype})0.5 * o{i}[i] + t;" if in_place else f" o{i}[i] = t;"
    body += " acc += (double)(t * t);"
    # Two explicit loops rather than an if() clause: GCC compiles the if(false) path of
    # "parallel for simd" as a plain, unvectorised loop.
    return f"""
double lk_stream_{shape}_{suffix}({', '.join(params)}, long n, int nthreads, long reps)
{{
    double total = 0.0;
    for (long k = 0; k < reps; ++k) {{
        double acc = 0.0;
        if (nthreads > 1 && n >= PARALLEL_MIN) {{
#pragma omp parallel for simd schedule(static) reduction(+:acc) num_threads(nthreads)
            for (long i = 0; i < n; ++i) {{ {body} }}
        }} else {{
#pragma omp simd reduction(+:acc)
            for (long i = 0; i < n; ++i) {{ {body} }}
        }}
        total = acc;
    }}
    return total;
}}
"""


_C_SOURCE = (
    f"#define PARALLEL_MIN {PARALLEL_MIN}\n"
    + "".join(_kernel_source(shape, suffix, ctype) for shape in SHAPES for suffix, ctype, _ in _TYPES.values())
    + """
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

    def __init__(self, lib: ctypes.CDLL, openmp: bool):
        self.openmp = openmp
        self._funcs = {}
        for shape in SHAPES:
            reads, outs, _ = _arity(shape)
            for dt, (suffix, _, ctype) in _TYPES.items():
                f = getattr(lib, f"lk_stream_{shape}_{suffix}")
                f.argtypes = [ctypes.POINTER(ctype)] * (reads + outs) + [ctypes.c_long, ctypes.c_int, ctypes.c_long]
                f.restype = ctypes.c_double
                self._funcs[shape, dt] = (f, ctypes.POINTER(ctype))

    def bind(self, shape: str, arrays: list[np.ndarray], threads: int) -> Callable[[int], float]:
        """``run(reps) -> sum of squares`` over ``arrays`` (the reads, then the outputs)."""
        reads, outs, _ = _arity(shape)
        dt = arrays[0].dtype
        if len(arrays) != reads + outs:
            raise ValueError(f"stream kernel {shape}: {reads + outs} arrays expected, got {len(arrays)}")
        if (shape, dt) not in self._funcs or any(a.dtype != dt for a in arrays):
            raise TypeError(f"stream kernel: unsupported dtypes {[str(a.dtype) for a in arrays]}")
        if any(not a.flags.c_contiguous or a.size != arrays[0].size for a in arrays):
            raise ValueError("stream kernel: arrays must be C-contiguous and of one size")
        f, ptr = self._funcs[shape, dt]
        pointers = [a.ctypes.data_as(ptr) for a in arrays]
        n = ctypes.c_long(arrays[0].size)
        nt = ctypes.c_int(max(1, int(threads)))

        def run(reps: int = 1, _keep=tuple(arrays)) -> float:  # _keep: the buffers live as long as run
            return f(*pointers, n, nt, ctypes.c_long(reps))

        return run

    def contender(self, shape: str, reads: list[np.ndarray], threads: int) -> tuple[Impl, Reference]:
        """The bandwidth kernel as a contender.

        Parameters
        ----------
        shape : str
            One of :data:`SHAPES`.
        reads : list of ndarray
            The arrays it reads (copied; in-place shapes update copies of the first).
        threads : int
            Its OpenMP team size (one thread below :data:`PARALLEL_MIN` elements).

        Returns
        -------
        impl : Impl
            One call returns ``(mean of t*t, the first output array)``; ``batch(k)`` repeats it
            k times in C.
        ref : Reference
            What its first call must return, in float64.
        """
        n_reads, outs, in_place = _arity(shape)
        src = [np.ascontiguousarray(a).reshape(-1).copy() for a in reads[:n_reads]]
        # updated arrays start as copies of the first input; u = u/2 + a then tends to 2a
        dst = [src[0].copy() if in_place else alloc(src[0].size, src[0].dtype) for _ in range(outs)]
        t = src[0].astype(np.float64) - (src[1].astype(np.float64) if n_reads == 2 else 0.0)
        first = 0.5 * dst[0].astype(np.float64) + t if in_place else t
        ref = Reference(float(np.mean(t * t)), first)
        run = self.bind(shape, src + dst, threads)
        count = src[0].size

        def call() -> tuple[float, np.ndarray]:
            return run(1) / count, dst[0]

        return Impl(call, batch=run), ref


def build(cc: str | None = None) -> tuple[StreamKernel | None, str]:
    """Compile and load the kernels.

    Parameters
    ----------
    cc : str, optional
        The C compiler (default ``cc``).

    Returns
    -------
    kernel : StreamKernel or None
        None when no compiler is found or every compile attempt failed.
    message : str
        The compiler and flags used, or why there is no kernel.
    """
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
        common = ["-std=c11", "-shared", "-fPIC", "-o", lib_path, src]
        attempts = [
            [exe, "-O3", "-march=native", "-fopenmp"] + common,
            # Fallbacks: no -march=native (odd compilers), then no OpenMP (threads ignored).
            [exe, "-O3", "-fopenmp"] + common,
            [exe, "-O3", "-march=native", "-fopenmp-simd"] + common,
            [exe, "-O3", "-march=native"] + common,
        ]
        errors = []
        for cmd in attempts:
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                                      env=dict(os.environ, LC_ALL="C"))
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{' '.join(cmd[:4])}: {exc}")
                continue
            if proc.returncode == 0 and os.path.exists(lib_path):
                try:
                    lib = ctypes.CDLL(lib_path)
                except OSError as exc:
                    errors.append(f"loading {lib_path}: {exc}")
                    continue
                openmp = bool(lib.lk_stream_openmp())
                flags = [c for c in cmd[1:] if c.startswith("-O") or c.startswith("-m") or c.startswith("-fopenmp")]
                msg = f"{compiler} {' '.join(flags)}"
                if not openmp:
                    msg += " (no OpenMP: the bandwidth reference runs on 1 thread)"
                return StreamKernel(lib, openmp), msg
            lines = [ln for ln in proc.stderr.splitlines() if "error" in ln] or proc.stderr.splitlines()
            errors.append(f"{os.path.basename(exe)} {' '.join(cmd[1:4])}: "
                          + (lines[0].strip() if lines else f"exit {proc.returncode}"))
        return None, f"compiling the bandwidth kernel failed: bandwidth reference skipped ({errors[0]})"
    finally:
        # The loaded library stays mapped after its file is removed.
        shutil.rmtree(tmp, ignore_errors=True)
