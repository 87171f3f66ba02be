"""Worker processes: every library family runs in a process of its own.

One worker per (family, thread count, forced instruction set): losskit, NumPy, PyTorch,
JAX, scikit-learn and the bandwidth kernel each get a fresh interpreter (``spawn``), whose
environment sets the thread count (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, and ``LOSSKIT_ISA`` for the per-ISA table) before the library starts its
thread pool, so no pool competes with or inherits another's settings. The coordinator
(:mod:`.run`) drives them one request at a time, so only one contender runs at any moment
and the rounds can interleave contenders of different processes:

``setup``
    attach the case's shared memory (inputs and float64 reference, made once by the
    coordinator), copy the inputs into the worker's own memory (a user's arrays are private
    anonymous memory, possibly on huge pages, not shared memory), build each contender, call
    it and check the result (:meth:`.Workload.check`), that an ``out=`` was used, that the
    inputs were not modified; answer one record per contender;
``sample``
    time ``k`` calls of one contender (after one untimed call if asked), with the garbage
    collector off; answer the seconds per call;
``teardown``
    drop the case's contenders and data.

Between requests a worker is stopped (SIGSTOP, continued with SIGCONT before the next one):
idle thread pools spin for a while after a call (OpenBLAS for about 0.1 s, libgomp for
thousands of iterations), and on a machine with few cores a spinning pool of one worker
would take the cores from the contender of another worker timed next. Stopped, it cannot;
within its own requests every library keeps its own waiting policy. A worker dies with the
coordinator (PR_SET_PDEATHSIG), so a killed run leaves no stopped processes behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import time
import zlib
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any, Iterator

import numpy as np

from . import impls, stream
from .catalog import WORKLOADS
from .impls import Impl, Unavailable
from .workload import Reference, check, to_numpy

# The module whose import tells whether a family is installed, and its version.
FAMILY_MODULES = {"losskit": "losskit", "numpy": "numpy", "torch": "torch", "jax": "jax",
                  "sklearn": "sklearn._loss.loss", "xgboost": "xgboost", "stream": None}
START_TIMEOUT_S = 300.0  # importing torch on a busy machine; compiling the stream kernel
SETUP_TIMEOUT_S = 900.0  # torch.compile (limited to 120 s per loss), references at 1e7
SAMPLE_TIMEOUT_S = 600.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
CAN_STOP = hasattr(signal, "SIGSTOP")


# ------------------------------------------------------------------ inside the worker

def _describe(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {' / '.join(lines[:4])}"[:400]


def _hello(family: str, threads: int, cc: str) -> tuple[dict, Any]:
    """Import the family's library and set its thread count: (report, stream kernel or None)."""
    info: dict[str, Any] = {"family": family, "threads": threads, "pid": os.getpid(), "available": True}
    kernel = None
    if family == "stream":
        kernel, info["stream"] = stream.build(cc)
        info["available"] = kernel is not None
        if kernel is None:
            info["error"] = info["stream"]
        else:
            info["openmp"] = kernel.openmp
        return info, kernel
    mod = impls.get_module(FAMILY_MODULES[family])
    if mod is None:
        return {**info, "available": False, "error": impls.import_error(FAMILY_MODULES[family])}, None
    top = impls.get_module(family)  # the package (for its version) when the module is a submodule
    info["version"] = getattr(top, "__version__", "?")
    info["file"] = getattr(top, "__file__", "?")
    if family == "losskit":
        mod.set_num_threads(threads)
        info.update(isa=mod.get_isa(), available_isas=list(mod.available_isas()),
                    num_threads=mod.get_num_threads())
    elif family == "torch":
        mod.set_num_threads(threads)
        info["num_threads"] = mod.get_num_threads()
    return info, kernel


class _Server:
    """The worker's state: the current case's inputs and its live contenders."""

    def __init__(self, family: str, threads: int, kernel: Any):
        self.family = family
        self.threads = threads
        self.kernel = kernel
        self.inputs: dict[str, np.ndarray] = {}
        self.live: dict[str, Impl] = {}

    def setup(self, workload: str, dtype: str, names: list[str], shm_name: str, layout: dict,
              scalars: dict) -> dict:
        shm = SharedMemory(name=shm_name)
        try:
            records = self._setup_from(shm, WORKLOADS[workload], dtype, names, layout, scalars)
        finally:
            shm.close()  # (the views into it are gone with _setup_from's frame)
        # No collection pauses while timing; the teardown turns the collector back on. (No
        # gc.collect() here: with torch.compile's objects in the heap it takes 0.3 s a case.)
        gc.disable()
        return records

    def _setup_from(self, shm: SharedMemory, w: Any, dtype: str, names: list[str], layout: dict,
                    scalars: dict) -> dict:
        views = {key: np.ndarray(shape, dt, buffer=shm.buf, offset=offset)
                 for key, (offset, shape, dt) in layout.items()}
        originals = {key[3:]: v for key, v in views.items() if key.startswith("in.")}
        self.inputs = {key: np.array(v) for key, v in originals.items()}
        ref = Reference(array=views.get("ref.array"), mask=views.get("ref.mask"),
                        origin=views.get("ref.origin"), **scalars)
        return {name: self._gate(w, name, dtype, ref, originals) for name in names}

    def _gate(self, w: Any, name: str, dtype: str, ref: Reference, originals: dict) -> dict:
        rec: dict[str, Any] = {"status": "ok", "message": "", "value_err": None, "array_err": None}
        try:
            if name == "stream":
                imp, ref = self.kernel.contender(w.stream_shape, w.stream_arrays(self.inputs), self.threads)
            else:
                imp = w.build(name, self.inputs, self.threads)
        except Unavailable as exc:
            return {**rec, "status": "unavailable", "message": str(exc)}
        except Exception as exc:
            return {**rec, "status": "error", "message": "constructing: " + _describe(exc)}
        rec.update(imp.info)
        try:
            call = imp.check_call or imp.call
            checks = 1 if name == "stream" else w.check_calls
            for _ in range(checks):
                result = call()
            if imp.result is not None:
                result = imp.result()
        except Exception as exc:
            return {**rec, "status": "error", "message": _describe(exc)}
        chk = w.check(result, ref, dtype) if name != "stream" else check(result, ref, dtype)
        rec["value_err"], rec["array_err"] = chk.value_err, chk.array_err
        msgs = [chk.message] if chk.message else []
        if imp.validate is not None:
            msgs.append(imp.validate(result))
        if w.contenders.get(name) is not None and w.contenders[name].family == "losskit" and result[1] is not None:
            # for the report's "same bits for every thread count" check
            array = np.ascontiguousarray(to_numpy(result[1]))
            rec["value"] = None if result[0] is None else float(result[0])
            rec["crc32"] = zlib.crc32(array.view(np.uint8).reshape(-1))
        del result
        for key, original in originals.items():
            if not np.array_equal(self.inputs[key], original):
                msgs.append(f"modified its input {key!r}")
                self.inputs[key][...] = original
        msgs = [m for m in msgs if m]
        if msgs:
            return {**rec, "status": "wrong", "message": "; ".join(msgs)}
        self.live[name] = imp
        return rec

    def sample(self, name: str, calls: int, settle: bool) -> tuple[str, Any]:
        imp = self.live[name]
        try:
            if settle:
                imp.run(1)
            t0 = time.perf_counter()
            imp.run(calls)
            return "ok", (time.perf_counter() - t0) / calls
        except Exception as exc:
            del self.live[name]
            return "error", _describe(exc)

    def teardown(self) -> str:
        self.live.clear()
        self.inputs = {}
        gc.enable()
        return "ok"


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the coordinator dies (even while stopped)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def serve(conn: Any, family: str, threads: int, cc: str) -> None:
    """The worker's main loop (the target of the spawned process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    _die_with_parent()
    try:
        info, kernel = _hello(family, threads, cc)
    except Exception as exc:
        info, kernel = {"family": family, "available": False, "error": _describe(exc)}, None
    conn.send(info)
    if not info["available"]:
        return
    server = _Server(family, threads, kernel)
    while True:
        try:
            op, *args = conn.recv()
        except EOFError:  # the coordinator is gone
            return
        if op == "stop":
            return
        try:
            answer = getattr(server, op)(*args)
        except Exception as exc:  # a bug: report it, stay available for the next case
            answer = RuntimeError(f"{op}: {_describe(exc)}")
        conn.send(answer)


# ------------------------------------------------------------------- coordinator side

class WorkerFailed(Exception):
    """A worker died, or did not answer in time (it is then killed)."""


def launch_environment() -> dict[str, str]:
    """The environment the workers start from: this process's, with the OpenMP waiting
    policy that ``import losskit`` sets when the user chose none (GOMP_SPINCOUNT=3000, see
    losskit/__init__.py) for every worker, so all libraries wait alike. With libgomp's
    default (300000 spins before sleeping), a 2-thread team on a loaded 2-core machine keeps
    a core spinning while its other thread waits for it, and every parallel region of torch,
    scikit-learn or the bandwidth kernel then takes whole scheduler ticks (36 ms instead of
    0.9 ms for a hand-written torch MSE at N = 1e6, measured). A policy the user sets
    (GOMP_SPINCOUNT or OMP_WAIT_POLICY) is passed on unchanged."""
    env = dict(os.environ)
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env["GOMP_SPINCOUNT"] = "3000"
    return env


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """os.environ replaced by ``env`` (a spawned process starts with it), then restored."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Worker:
    def __init__(self, family: str, threads: int, isa: str | None, cc: str, env: dict[str, str]):
        self.family, self.threads, self.isa = family, threads, isa
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        env = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        if isa is not None:
            env["LOSSKIT_ISA"] = isa
        self.process = ctx.Process(target=serve, args=(child, family, threads, cc), daemon=True,
                                   name=f"losskit-bench-{family}-{threads}{'-' + isa if isa else ''}")
        with _environ(env):
            self.process.start()
        child.close()
        self.hello: dict = {}

    def _signal(self, signum: int) -> None:
        if CAN_STOP and self.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def send(self, message: tuple) -> None:
        """Continue the worker and send it a request."""
        self._signal(signal.SIGCONT)
        try:
            self.conn.send(message)
        except OSError:
            raise WorkerFailed(f"the {self.family} worker is gone (exit code {self.process.exitcode})") from None

    def receive(self, timeout: float) -> Any:
        """The answer to the request sent; the worker is stopped again until the next one."""
        if not self.conn.poll(timeout):
            self.stop()
            raise WorkerFailed(f"the {self.family} worker did not answer within {timeout:g} s (killed)")
        try:
            answer = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            raise WorkerFailed(f"the {self.family} worker died (exit code {self.process.exitcode})") from None
        self._signal(signal.SIGSTOP)
        if isinstance(answer, Exception):
            raise WorkerFailed(f"the {self.family} worker failed: {answer}")
        return answer

    def request(self, message: tuple, timeout: float) -> Any:
        self.send(message)
        return self.receive(timeout)

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError, WorkerFailed):
                self.send(("stop",))
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class Pool:
    """The workers, started on first use; a family that is not installed is remembered."""

    def __init__(self, cc: str):
        self.cc = cc
        self.env = launch_environment()
        self.workers: dict[tuple, Worker] = {}
        self.hellos: dict[tuple, dict] = {}  # every worker ever started: what it reported
        # Before multiprocessing's own exit handler (atexit runs the last registered first),
        # which would wait forever for a stopped worker to handle its SIGTERM.
        atexit.register(self.close)

    def start(self, keys: list[tuple[str, int, str | None]]) -> None:
        """Start the workers not running yet, all at once (their imports overlap), and wait
        for their reports.

        Parameters
        ----------
        keys : list of tuple
            ``(family, threads, forced ISA or None)`` of each worker wanted. A family that
            reported itself unavailable is not started again.
        """
        fresh = []
        for key in keys:
            if key in self.workers and self.workers[key].alive:
                continue
            if self.hellos.get(key, {}).get("available") is False:
                continue  # not installed: do not try again
            self.workers[key] = Worker(*key, cc=self.cc, env=self.env)
            fresh.append(key)
        for key in fresh:
            worker = self.workers[key]
            try:
                worker.hello = worker.receive(START_TIMEOUT_S)
            except WorkerFailed as exc:
                worker.hello = {"family": key[0], "available": False, "error": str(exc)}
            self.hellos[key] = worker.hello
            if not worker.hello.get("available"):
                worker.stop()
                del self.workers[key]

    def get(self, key: tuple) -> Worker | None:
        return self.workers.get(key)

    def unavailable_reason(self, key: tuple) -> str:
        hello = self.hellos.get(key, {})
        return f"{key[0]}: {hello.get('error') or 'not available'}"

    def close(self, keep: set | None = None) -> None:
        """Stop the workers (except those in ``keep``)."""
        for key in [k for k in self.workers if keep is None or k not in keep]:
            self.workers.pop(key).stop()


@dataclass(eq=False)
class Remote:
    """A contender in a worker, as the timing loop sees it."""

    name: str  # the column label (e.g. "losskit[out]@avx2")
    contender: str  # the workload's contender name
    worker: Worker

    def sample(self, calls: int, settle: bool) -> float:
        status, value = self.worker.request(("sample", self.contender, calls, settle), SAMPLE_TIMEOUT_S)
        if status != "ok":
            raise RuntimeError(value)
        return value
