"""The minibatch gather: ``count`` random rows of a ``rows x cols`` table into a batch.

Shape ``(rows, cols, count)``: 65536 rows of a 1e6 x 64 table (256 MB in float32, far
beyond the caches, as a training set is). Bytes: 2 * count * cols * itemsize (read the rows,
write the batch; the 8-byte indices are not counted); bandwidth kernel: read 1, write 1 over
count * cols elements, i.e. the same volume read contiguously, so it is an upper bound the
random rows cannot quite reach. The check is exact: a gather copies bits.
"""

from __future__ import annotations

import numpy as np

from .impls import Impl, require, require_jax
from .losses import uses_buffer
from .workload import CheckResult, Contender, Reference, Workload, alloc, to_numpy

FULL_SHAPE = (1_000_000, 64, 65536)
QUICK_SHAPE = (100_000, 64, 4096)


class GatherWorkload(Workload):
    name = "gather"
    suite = "gather"
    description = "rows of a table at random indices into a batch (X[idx])"
    stream_shape = "r1w1"
    bytes_model = "2 * count * cols * itemsize (read the rows, write the batch; indices not counted)"
    contenders = {
        "losskit[out]": Contender("losskit", True, "losskit.gather(X, idx, out=batch)"),
        "losskit": Contender("losskit", False, "losskit.gather(X, idx): a new batch every call"),
        "numpy": Contender("numpy", False, "X[idx] (fancy indexing)"),
        "numpy[out]": Contender("numpy", True, "np.take(X, idx, axis=0, out=batch)"),
        "torch": Contender("torch", False, "X[idx] on tensors"),
        "torch[out]": Contender("torch", True, "torch.index_select(X, 0, idx, out=batch)"),
        "jax-jit": Contender("jax", False, "jax.jit(lambda X, i: jnp.take(X, i, axis=0))"),
    }

    def shapes(self, sizes, shapes, quick):
        return [QUICK_SHAPE if quick else FULL_SHAPE]

    def overhead_shape(self):
        return (1000, 64, 16)

    def isa_shape(self, quick):
        return None  # a copy: the instruction set hardly matters

    def elements(self, shape):
        return shape[1] * shape[2]

    def label(self, shape):
        rows, cols, count = shape
        return f"{count} of {rows}x{cols}"

    def bytes(self, shape, dtype):
        return 2 * self.elements(shape) * np.dtype(dtype).itemsize

    def make_inputs(self, shape, dtype, seed):
        rows, cols, count = shape
        rng = np.random.default_rng([seed, rows, cols, count, np.dtype(dtype).itemsize, 5])
        return {"table": rng.standard_normal((rows, cols)).astype(dtype),
                "index": rng.integers(0, rows, count, dtype=np.int64)}

    def reference(self, inputs):
        return Reference(array=inputs["table"][inputs["index"]].astype(np.float64))

    def stream_arrays(self, inputs):
        batch_elements = inputs["index"].size * inputs["table"].shape[1]
        return [inputs["table"].reshape(-1)[:batch_elements]]

    def check(self, result, ref, dtype):
        got = to_numpy(result[1])
        if got.shape != ref.array.shape or got.dtype != np.dtype(dtype):
            return CheckResult(False, message=f"{got.dtype} {got.shape}, expected {dtype} {ref.array.shape}")
        if not np.array_equal(got, ref.array):
            bad = int(np.count_nonzero(np.any(got != ref.array, axis=1)))
            return CheckResult(False, array_err=float("nan"), message=f"{bad} rows differ from X[idx]")
        return CheckResult(True, array_err=0.0)

    def build(self, name, inputs, threads):
        X, idx = inputs["table"], inputs["index"]
        shape = (idx.size, X.shape[1])
        if name.startswith("losskit"):
            gather = require("losskit").gather
            if name == "losskit":
                return Impl(lambda: (None, gather(X, idx)))
            batch = alloc(shape, X.dtype)
            return Impl(lambda: (None, gather(X, idx, out=batch)), validate=uses_buffer(batch))
        if name == "numpy":
            return Impl(lambda: (None, X[idx]))
        if name == "numpy[out]":
            batch = alloc(shape, X.dtype)
            return Impl(lambda: (None, np.take(X, idx, axis=0, out=batch)), validate=uses_buffer(batch))
        if name.startswith("torch"):
            torch = require("torch")
            tX, tidx = torch.from_numpy(X), torch.from_numpy(idx)
            if name == "torch":
                return Impl(lambda: (None, tX[tidx]))
            batch = torch.from_numpy(alloc(shape, X.dtype))
            return Impl(lambda: (None, torch.index_select(tX, 0, tidx, out=batch)))
        if name == "jax-jit":
            jax, jnp = require_jax()
            take = jax.jit(lambda table, i: jnp.take(table, i, axis=0))
            jX, jidx = jnp.asarray(X), jnp.asarray(idx)

            def call():
                return None, take(jX, jidx).block_until_ready()

            call()  # compile outside the timing
            return Impl(call)
        raise ValueError(f"unknown contender {name!r}")


WORKLOADS = [GatherWorkload()]
