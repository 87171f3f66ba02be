"""Command line and orchestration of the benchmark (``losskit bench``, ``python -m bench``).

The run is a list of *cases* (one workload, shape, dtype and thread count), grouped in the
tables they feed:

``overhead``  every loss and optimizer at N = 16 (per-call cost), no bandwidth kernel;
``sizes``     every workload over its sizes, at the main thread count, next to the
              same-shape bandwidth kernel;
``threads``   the largest float32 case of every workload at the other thread counts
              (losskit and the best peer of the sizes table);
``isa``       losskit alone at a cache-resident size on one thread, once per instruction set.

For each case the coordinator makes the inputs and the float64 NumPy reference once, in
shared memory; every contender's worker (:mod:`.worker`) copies the inputs, builds and
checks its contenders; the survivors are then timed in interleaved rounds (:mod:`.timing`).
A contender that fails the check is reported, not timed. The tables, the targets, the JSON,
the markdown and the plot come from the collected cases (:mod:`.report`, :mod:`.targets`,
:mod:`.plot`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from multiprocessing.shared_memory import SharedMemory
from typing import Iterator

import numpy as np

from . import plot, report, stream, targets, timing
from .catalog import SUITES, WORKLOADS
from .impls import Unavailable
from .worker import SETUP_TIMEOUT_S, Pool, Remote, WorkerFailed
from .workload import STREAM_CONTENDER, Workload

TABLES = ("overhead", "sizes", "threads", "isa")
DTYPE_ALIASES = {
    "float32": "float32", "f32": "float32", "single": "float32", "fp32": "float32",
    "float64": "float64", "f64": "float64", "double": "float64", "fp64": "float64",
}
# torch.compile costs seconds per loss and dtype: more than a --quick run has
QUICK_SKIPS = ("torch-compile",)
# An optional pause before each sample (--gap-ms) only where threads are used at all.
GAP_MIN_N = 65536


# ------------------------------------------------------------------------- arguments

def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _nonempty(items: list) -> list:
    if not items:
        raise argparse.ArgumentTypeError("empty list")
    return items


def _parse_sizes(text: str) -> list[int]:
    out = []
    for tok in _split(text):
        try:
            val = float(tok)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{tok!r} is not a number") from None
        if not math.isfinite(val) or val < 1 or val != int(val):
            raise argparse.ArgumentTypeError(f"{tok!r} is not a positive integer")
        out.append(int(val))
    return _nonempty(out)


def _parse_shapes(text: str) -> list[tuple[int, int]]:
    out = []
    for tok in _split(text):
        try:
            n, c = (int(float(p)) for p in tok.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{tok!r} is not NxC, e.g. 4096x1000") from None
        if n < 1 or c < 1:
            raise argparse.ArgumentTypeError(f"{tok!r}: N and C must be >= 1")
        out.append((n, c))
    return _nonempty(out)


def _parse_counts(text: str) -> list[int]:
    out = []
    for tok in _split(text):
        if not tok.isdigit() or int(tok) < 1:
            raise argparse.ArgumentTypeError(f"{tok!r} is not a positive integer")
        out.append(int(tok))
    return _nonempty(out)


def _parse_choice(choices: list[str], what: str):
    def parse(text: str) -> list[str]:
        out = _split(text)
        bad = [t for t in out if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(bad)} (choose from {', '.join(choices)})")
        return _nonempty(list(dict.fromkeys(out)))

    return parse


def _parse_dtypes(text: str) -> list[str]:
    bad = [t for t in _split(text) if t.lower() not in DTYPE_ALIASES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)} (float32, float64)")
    return _nonempty(list(dict.fromkeys(DTYPE_ALIASES[t.lower()] for t in _split(text))))


def _all_contenders() -> list[str]:
    return list(dict.fromkeys(name for w in WORKLOADS.values() for name in w.contenders))


def default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def scaling_counts(threads: int) -> list[int]:
    """1, 2, 4, ... below ``threads``, and ``threads``."""
    return sorted({2**k for k in range(threads.bit_length()) if 2**k < threads} | {threads})


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="losskit bench",
        description="Time losskit against NumPy, PyTorch, JAX and scikit-learn (whichever are installed, each "
                    "in its own process) on every loss, optimizer step, the minibatch gather and a training "
                    "epoch, next to a same-shape memory-bandwidth kernel compiled in the same run. Every "
                    "contender is checked against a float64 NumPy reference first; a wrong one is reported, "
                    "not timed. Ends with the performance targets, met or missed. A plain run takes a few "
                    "minutes; --quick under one.",
        epilog="suites: " + "; ".join(f"{s}: {', '.join(ws)}" for s, ws in SUITES.items())
               + ". See bench/README.md.",
    )
    what = p.add_argument_group("what to run")
    what.add_argument("--quick", action="store_true",
                      help="every workload at small sizes, few rounds, no torch.compile: under a minute")
    what.add_argument("--suite", type=_parse_choice(list(SUITES), "suite"), metavar="S[,S]",
                      help=f"only these suites: {', '.join(SUITES)}")
    what.add_argument("--workloads", type=_parse_choice(list(WORKLOADS), "workload"), metavar="W[,W]",
                      help="only these workloads (see --list)")
    what.add_argument("--impls", type=_parse_choice(_all_contenders(), "contender"), metavar="NAME[,NAME]",
                      help="only these contenders (see --list; the bandwidth kernel is always run)")
    what.add_argument("--dtypes", type=_parse_dtypes, help="float32,float64 (default both)")
    what.add_argument("--sizes", type=_parse_sizes,
                      help="N of the workloads with a size axis, e.g. 1e3,1e7 (default 1e2..1e7; optimizers "
                           "1e6,1e7; --quick 1e3,1e5)")
    what.add_argument("--shapes", type=_parse_shapes, help="cross-entropy shapes NxC (default 64x10,4096x1000,65536x10)")
    what.add_argument("--threads", type=int,
                      help="thread count of the main tables (default: OMP_NUM_THREADS or the CPUs available)")
    what.add_argument("--scaling", type=_parse_counts, metavar="T[,T]",
                      help="thread counts of the scaling table (default 1, 2, 4, ... up to --threads)")
    what.add_argument("--isas", metavar="ISA[,ISA]", type=_split,
                      help="instruction sets of the per-ISA table (default: every level losskit has)")
    what.add_argument("--tables", type=_parse_choice(list(TABLES), "table"), metavar="T[,T]",
                      help=f"which tables to measure: {', '.join(TABLES)} (default all)")
    how = p.add_argument_group("how to measure")
    how.add_argument("--repeats", type=int, help="minimum interleaved rounds per case (default 7, --quick 3)")
    how.add_argument("--budget", type=float, help="seconds per case before stopping at the minimum rounds "
                                                  "(default 0.4, --quick 0.03)")
    how.add_argument("--gap-ms", type=float, default=0.0,
                     help=f"pause before each sample at N >= {GAP_MIN_N} with >1 thread, e.g. to let spinning "
                          "worker threads of the previous contender stop (default 0)")
    how.add_argument("--no-stream", action="store_true", help="skip the bandwidth kernel")
    how.add_argument("--cc", default="cc", help="C compiler for the bandwidth kernel (default: cc)")
    how.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="PATH", help="write all results (every sample) as JSON")
    out.add_argument("--markdown", metavar="PATH", nargs="?", const="-",
                     help="markdown tables: to PATH, or instead of the plain tables on stdout if no PATH")
    out.add_argument("--plot", metavar="PATH", help="a PNG: time against size per contender, log-log (matplotlib)")
    out.add_argument("--list", action="store_true", help="list the workloads and their contenders, then exit")
    return p


# ----------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class Entry:
    """One column of a case: a workload's contender in a worker."""

    label: str
    contender: str
    family: str
    isa: str | None = None


@dataclass(frozen=True)
class Case:
    """One row of a table: a workload at one shape, dtype and thread count, and its columns
    (``budget_scale``: the share of the time budget it gets)."""

    table: str
    workload: str
    shape: tuple
    dtype: str
    threads: int
    entries: tuple[Entry, ...]
    with_stream: bool
    budget_scale: float = 1.0


def _entries(w: Workload, names: list[str]) -> tuple[Entry, ...]:
    return tuple(Entry(n, n, w.contenders[n].family) for n in w.contenders if n in names)


def _losskit_entry(w: Workload) -> str | None:
    """The losskit contender the per-ISA table times: the out= one where there is one."""
    for name in ("losskit[out]", "losskit"):
        if name in w.contenders:
            return name
    return None


def plan(args: argparse.Namespace, workloads: list[Workload], names: list[str], threads: int) -> list[Case]:
    """The cases of the overhead and sizes tables, in order: all cases of one loss and dtype in
    a row (one torch.compile compilation serves them all)."""
    tables = args.tables or list(TABLES)
    cases = []
    for w in workloads:
        stream_on = not args.no_stream and w.stream_shape is not None
        entries = _entries(w, names)
        for dtype in [d for d in (args.dtypes or w.dtypes) if d in w.dtypes]:
            shape = w.overhead_shape()
            if "overhead" in tables and shape is not None:
                cases.append(Case("overhead", w.name, shape, dtype, threads, entries, False, 0.5))
            if "sizes" in tables:
                for shape in w.shapes(args.sizes, args.shapes, args.quick):
                    cases.append(Case("sizes", w.name, shape, dtype, threads, entries, stream_on))
    return cases


def plan_threads(args: argparse.Namespace, workloads: list[Workload], names: list[str], threads: int,
                 measured: list[dict]) -> list[Case]:
    """The cases of the thread-scaling table: the largest float32 case of every workload at
    the other thread counts (each count has its own workers), with the contenders the table
    shows: losskit's fastest and the best peer of that case in the sizes table (every
    contender when the sizes table did not measure it), and the kernel."""
    cases = []
    for t in [t for t in (args.scaling or scaling_counts(threads)) if t != threads]:
        for w in workloads:
            dtype = "float32" if "float32" in w.dtypes else w.dtypes[0]
            if args.dtypes and dtype not in args.dtypes:
                continue
            shape = max(w.shapes(args.sizes, args.shapes, args.quick), key=w.elements)
            main = next((c for c in measured if c["table"] == "sizes" and c["workload"] == w.name
                         and c["dtype"] == dtype and c["shape"] == list(shape)), None)
            shown = [n for n in (report.best_losskit(main), main["best_peer"]) if n] if main else names
            cases.append(Case("threads", w.name, shape, dtype, t, _entries(w, shown),
                              not args.no_stream and w.stream_shape is not None))
    return cases


def plan_isa(args: argparse.Namespace, workloads: list[Workload], isas: list[str]) -> list[Case]:
    """The cases of the per-ISA table: losskit alone, float32, one thread, once per ISA."""
    cases = []
    for w in workloads:
        shape, name = w.isa_shape(args.quick), _losskit_entry(w)
        if shape is not None and name is not None and "float32" in w.dtypes:
            entries = tuple(Entry(f"{name}@{isa}", name, "losskit", isa) for isa in isas)
            cases.append(Case("isa", w.name, shape, "float32", 1, entries, False))
    return cases


# ------------------------------------------------------------------------ one case

@contextlib.contextmanager
def shared_arrays(arrays: dict[str, np.ndarray]) -> Iterator[tuple[str, dict]]:
    """Copy arrays into one shared-memory block, removed on exit.

    Parameters
    ----------
    arrays : dict of str to ndarray
        What the workers need, by key (``in.<input>``, ``ref.<field>``).

    Yields
    ------
    name : str
        The block's name, to attach to.
    layout : dict
        key -> (byte offset, shape, dtype string) of each array in the block.
    """
    layout, offset = {}, 0
    for key, a in arrays.items():
        layout[key] = (offset, a.shape, a.dtype.str)
        offset += -(-a.nbytes // 64) * 64  # 64-byte aligned
    shm = SharedMemory(create=True, size=max(offset, 1))
    try:
        for key, a in arrays.items():
            off, shape, dt = layout[key]
            np.ndarray(shape, dt, buffer=shm.buf, offset=off)[...] = a
        yield shm.name, layout
    finally:
        shm.close()
        shm.unlink()


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(msg, file=sys.stderr, flush=True)


def _record(entry: Entry, w: Workload) -> dict:
    """A column's record before its worker has checked it."""
    contender = w.contenders.get(entry.contender, STREAM_CONTENDER)
    return {"contender": entry.contender, "family": contender.family, "uses_out": contender.uses_out,
            "isa": entry.isa, "status": "ok", "message": "", "value_err": None, "array_err": None}


def run_case(pool: Pool, case: Case, st: timing.Settings, seed: int) -> dict:
    """Check, then time, every contender of one case.

    Parameters
    ----------
    pool : Pool
        The workers; those the case needs are started if they are not running.
    case : Case
        What to run.
    st : timing.Settings
        Rounds, budget and sample length.
    seed : int
        The data seed.

    Returns
    -------
    dict
        The case's record (see bench/README.md, "Output"): one entry per column under
        ``impls`` with its status, errors and timings, the kernel's GB/s, the best peer.
    """
    started = time.perf_counter()
    w = WORKLOADS[case.workload]
    entries = list(case.entries) + ([Entry("stream", "stream", "stream")] if case.with_stream else [])
    out = {
        "table": case.table, "workload": w.name, "suite": w.suite, "dtype": case.dtype, "shape": list(case.shape),
        "label": w.label(case.shape), "elements": w.elements(case.shape), "threads": case.threads,
        "bytes": w.bytes(case.shape, case.dtype), "stream": None, "best_peer": None,
        "impls": {e.label: _record(e, w) for e in entries},
    }
    try:
        inputs = w.make_inputs(case.shape, case.dtype, seed)
        ref = w.reference(inputs)
    except Exception as exc:  # e.g. the epoch's data set needs losskit
        status = "unavailable" if isinstance(exc, Unavailable) else "error"
        for rec in out["impls"].values():
            rec.update(status=status, message=f"making the data: {exc}")
        return out
    keys = {e.label: (e.family, case.threads, e.isa) for e in entries}
    pool.start(sorted(set(keys.values()), key=str))
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        if pool.get(keys[e.label]) is None:
            out["impls"][e.label].update(status="unavailable", message=pool.unavailable_reason(keys[e.label]))
        else:
            groups.setdefault(keys[e.label], []).append(e)
    shared = {f"in.{k}": v for k, v in inputs.items()}
    shared.update({f"ref.{k}": getattr(ref, k) for k in ("array", "mask", "origin") if getattr(ref, k) is not None})
    scalars = {"value": ref.value, "rounding": ref.rounding}
    del inputs, ref
    with shared_arrays(shared) as (shm_name, layout):
        del shared
        for key, group in groups.items():
            pool.get(key).send(("setup", w.name, case.dtype, [e.contender for e in group], shm_name,
                                layout, scalars))
        for key, group in list(groups.items()):
            try:
                records = pool.get(key).receive(SETUP_TIMEOUT_S)
            except WorkerFailed as exc:
                pool.close(keep=set(pool.workers) - {key})
                del groups[key]
                for e in group:
                    out["impls"][e.label].update(status="error", message=str(exc))
                continue
            for e in group:
                out["impls"][e.label].update(records[e.contender])
    remotes = [Remote(e.label, e.contender, pool.get(key)) for key, group in groups.items() for e in group
               if out["impls"][e.label]["status"] == "ok"]
    stream_remote = next((r for r in remotes if r.name == "stream"), None)
    timings = timing.measure([r for r in remotes if r is not stream_remote], st, stream_remote)
    tearing = []
    for key in groups:
        with contextlib.suppress(WorkerFailed):
            pool.get(key).send(("teardown",))
            tearing.append(key)
    for key in tearing:
        with contextlib.suppress(WorkerFailed):
            pool.get(key).receive(SETUP_TIMEOUT_S)
    _summarise(out, timings)
    out["wall_s"] = time.perf_counter() - started
    return out


def _summarise(case: dict, timings: dict[str, timing.Timing]) -> None:
    """Medians, GB/s, % of the bandwidth kernel and the ratio to the best peer."""
    nbytes = case["bytes"]
    for label, tm in timings.items():
        rec = case["impls"][label]
        if tm.error:
            rec["status"], rec["message"] = "error", "while timing: " + tm.error
        if not tm.samples:
            continue
        lo, hi = tm.quartiles()
        rec.update(median_s=tm.median, min_s=tm.min, max_s=tm.max, q1_s=lo, q3_s=hi,
                   calls_per_sample=tm.calls, samples_s=tm.samples)
        if nbytes:
            rec["gbps"] = nbytes / tm.median / 1e9
        if label == "stream" and nbytes:
            case["stream"] = {
                "median_s": tm.median, "gbps": nbytes / tm.median / 1e9,
                "gbps_before": nbytes / tm.before / 1e9 if math.isfinite(tm.before) else None,
                "gbps_after": nbytes / tm.after / 1e9 if math.isfinite(tm.after) else None,
                "gbps_min": nbytes / tm.max / 1e9, "gbps_max": nbytes / tm.min / 1e9,
            }
    timed = {label: rec for label, rec in case["impls"].items() if rec["status"] == "ok" and "median_s" in rec}
    # A booster's built-in objective (the xgboost family) runs no Python callback: it is the
    # floor a custom objective is measured against (bench/gbdt.py), not a peer.
    peers = [label for label, rec in timed.items()
             if rec["family"] not in ("losskit", "stream", "xgboost")]
    best = min(peers, key=lambda label: timed[label]["median_s"]) if peers else None
    case["best_peer"] = best
    for label, rec in timed.items():
        if case["stream"] is not None:
            rec["pct_bw"] = 100.0 * case["stream"]["median_s"] / rec["median_s"]
        if best is not None and label != "stream":
            rec["vs_best_peer"] = rec["median_s"] / timed[best]["median_s"]


# ----------------------------------------------------------------------------- main

def _available_isas(pool: Pool) -> list[str]:
    """The instruction sets losskit was built with, as a losskit worker reported them."""
    hellos = [h for k, h in pool.hellos.items() if k[0] == "losskit" and h.get("available")]
    if not hellos:
        pool.start([("losskit", 1, None)])
        hellos = [pool.hellos[("losskit", 1, None)]]
    return hellos[0].get("available_isas", [])


def _counted(cases: list[Case]) -> Iterator[Case]:
    """The cases, with a progress line for each (on a terminal)."""
    for i, case in enumerate(cases, 1):
        _progress(f"[{case.table} {i}/{len(cases)}] {case.workload} {case.dtype} "
                  f"{WORKLOADS[case.workload].label(case.shape)} threads={case.threads}")
        yield case


def _run_in_turn(pool: Pool, case: Case, st: timing.Settings, args: argparse.Namespace) -> dict:
    """Run one case with the settings of its thread count; the workers of another thread
    count are stopped first (each count has its own)."""
    pool.close(keep={k for k in pool.workers if k[1] == case.threads})
    w = WORKLOADS[case.workload]
    threaded = case.threads > 1
    settings = replace(
        st, budget_s=st.budget_s * case.budget_scale, settle=threaded,
        gap_s=max(0.0, args.gap_ms) / 1e3 if threaded and w.elements(case.shape) >= GAP_MIN_N else 0.0)
    return run_case(pool, case, settings, args.seed)


def _machine() -> dict:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    return {"cpu": cpu, "cpus": cpus, "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "loadavg_start": load}


def _list() -> None:
    """The workloads by suite, then the contenders of each group of workloads that shares them."""
    for suite, names in SUITES.items():
        print(f"suite {suite}:")
        for name in names:
            print(f"  {name:20s} {WORKLOADS[name].description}")
    groups: dict[tuple, list[str]] = {}
    for w in WORKLOADS.values():
        groups.setdefault(tuple(w.contenders.items()), []).append(w.name)
    for contenders, names in groups.items():
        print(f"contenders of {', '.join(names)}:")
        for cname, c in contenders:
            print(f"  {cname:16s} [{c.family} worker{', out=' if c.uses_out else ''}] {c.description}")
    print("stream (every workload with a byte count): the bandwidth kernel of the same shape; "
          + "; ".join(f"{k}: {v}" for k, v in stream.SHAPES.items()))


def _check_outputs(args: argparse.Namespace) -> str:
    """Fail now, not after a long run, if an output file cannot be written."""
    for path in (args.json, args.plot, args.markdown if args.markdown != "-" else None):
        if path:
            try:
                with open(path, "a"):
                    pass
            except OSError as exc:
                return f"cannot write {path}: {exc}"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``losskit bench``).

    Parameters
    ----------
    argv : list of str, optional
        The command-line options (default: ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        0; 1 if a losskit contender was wrong or failed; 2 on a usage error; 130 if
        interrupted (after reporting what was measured).
    """
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: return its code instead of exiting
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    if args.list:
        _list()
        return 0
    error = _check_outputs(args)
    if args.repeats is not None and args.repeats < 1:
        error = "--repeats must be >= 1"
    if args.threads is not None and args.threads < 1:
        error = "--threads must be >= 1"
    if error:
        parser.print_usage(sys.stderr)
        print(f"losskit bench: error: {error}", file=sys.stderr)
        return 2

    workloads = [w for w in WORKLOADS.values()
                 if (not args.suite or w.suite in args.suite) and (not args.workloads or w.name in args.workloads)]
    names = args.impls or [n for n in _all_contenders() if not (args.quick and n in QUICK_SKIPS)]
    threads = args.threads or default_threads()
    st = timing.Settings(
        min_rounds=args.repeats or (3 if args.quick else 7),
        max_rounds=max(args.repeats or 0, 9 if args.quick else 51),
        budget_s=args.budget if args.budget is not None else (0.03 if args.quick else 0.4),
        min_sample_s=5e-4 if args.quick else 2e-3,
    )
    pool = Pool(args.cc)
    results = {
        "schema": "losskit-bench/2",
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "environment": {k: v for k, v in pool.env.items()
                        if k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "LOSSKIT_ISA")},
        "config": {"quick": args.quick, "threads": threads, "workloads": [w.name for w in workloads],
                   "impls": names, "seed": args.seed, "min_rounds": st.min_rounds, "max_rounds": st.max_rounds,
                   "budget_s": st.budget_s, "min_sample_s": st.min_sample_s, "gap_s": max(0.0, args.gap_ms) / 1e3,
                   "stream": not args.no_stream},
        "workloads": {w.name: {"suite": w.suite, "description": w.description, "dtypes": list(w.dtypes),
                               "bytes_model": w.bytes_model,
                               "stream_shape": w.stream_shape, "elementwise": w.elementwise,
                               "contenders": {n: {"family": c.family, "uses_out": c.uses_out,
                                                  "description": c.description} for n, c in w.contenders.items()}}
                      for w in workloads},
        "stream_shapes": stream.SHAPES,
        "cases": [],
    }
    t_start = time.perf_counter()
    interrupted = False
    try:
        tables = args.tables or TABLES
        for case in _counted(plan(args, workloads, names, threads)):
            results["cases"].append(_run_in_turn(pool, case, st, args))
        if "threads" in tables:
            for case in _counted(plan_threads(args, workloads, names, threads, results["cases"])):
                results["cases"].append(_run_in_turn(pool, case, st, args))
        if "isa" in tables:
            isas = args.isas or _available_isas(pool)
            results["config"]["isas"] = isas
            for case in _counted(plan_isa(args, workloads, isas)):
                results["cases"].append(_run_in_turn(pool, case, st, args))
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: reporting what was measured", file=sys.stderr)
    finally:
        pool.close()
    results["libraries"] = [{"family": k[0], "threads": k[1], "forced_isa": k[2], **hello}
                            for k, hello in pool.hellos.items()]
    return finish(args, results, t_start, interrupted)


def finish(args: argparse.Namespace, results: dict, t_start: float, interrupted: bool) -> int:
    """Evaluate the targets, print and write the reports.

    Returns
    -------
    int
        The exit status: 130 if interrupted, 1 if a losskit contender was wrong or failed,
        else 0.
    """
    results["elapsed_s"] = time.perf_counter() - t_start
    with contextlib.suppress(AttributeError, OSError):
        results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["interrupted"] = interrupted
    results["targets"] = targets.evaluate(results)
    if args.plot:
        results["plot"] = plot.write(results, args.plot)
    md = args.markdown
    print(report.render(results, markdown=md == "-"))
    if md and md != "-":
        with open(md, "w") as fh:
            fh.write(report.render(results, markdown=True) + "\n")
        print(f"markdown written to {md}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report.jsonable(results), fh, indent=1, allow_nan=False)
            fh.write("\n")
        print(f"JSON written to {args.json}")
    if interrupted:
        return 130
    bad = [r for c in results["cases"] for r in c["impls"].values()
           if r["family"] == "losskit" and r["status"] in ("wrong", "error")]
    return 1 if bad else 0


__all__ = ["main"]
