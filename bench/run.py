"""Command line and orchestration of the losskit benchmark (``python -m bench``).

For every thread count, dtype, size and loss (a *case*) the harness

1. makes the data (C-contiguous, pages already touched) and a float64 NumPy
   reference of the value and gradient;
2. builds each contender (losskit with and without ``out=``, NumPy idiomatic,
   NumPy with ``out=``, PyTorch autograd, PyTorch with ``out=``, and the stream
   kernel), calls it once and checks the result against the reference; a wrong
   or failing contender is reported and not timed;
3. times the survivors interleaved (see :mod:`bench.timing`), with the same-shape
   bandwidth kernel sampled in every round and right before and after the case;
4. reports median and min time, effective GB/s (3 * N * itemsize bytes: read
   input and target, write the gradient), % of the bandwidth kernel measured in
   the same case, and time relative to the best peer.

Per-call overhead is measured the same way at N = 16.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
import zlib

import numpy as np

from . import impls as impls_mod
from . import report, stream, timing, workloads
from .impls import CONTENDERS, IMPLS, PEERS, Unavailable
from .workloads import LOSSES

FULL_SIZES = [10**k for k in range(2, 8)]
QUICK_SIZES = [10**3, 10**5, 10**6]
OVERHEAD_N = 16
DTYPE_ALIASES = {
    "float32": "float32", "f32": "float32", "single": "float32", "fp32": "float32",
    "float64": "float64", "f64": "float64", "double": "float64", "fp64": "float64",
}
# An optional pause before each sample (--gap-ms) only where threads are used at all.
GAP_MIN_N = 65536


# ------------------------------------------------------------------------- arguments

def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


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
    if not out:
        raise argparse.ArgumentTypeError("empty list")
    return out


def _parse_losses(text: str) -> list[str]:
    if text.strip() == "all":
        return list(LOSSES)
    out = _split(text)
    bad = [t for t in out if t not in LOSSES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)} (choose from {', '.join(LOSSES)})")
    return out


def _parse_dtypes(text: str) -> list[str]:
    out = []
    for tok in _split(text):
        if tok.lower() not in DTYPE_ALIASES:
            raise argparse.ArgumentTypeError(f"unknown {tok!r} (float32, float64)")
        out.append(DTYPE_ALIASES[tok.lower()])
    if not out:
        raise argparse.ArgumentTypeError("empty list")
    return list(dict.fromkeys(out))


def _parse_threads(text: str) -> list[int]:
    out = []
    for tok in _split(text):
        try:
            n = int(tok)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{tok!r} is not an integer") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"{n} < 1")
        out.append(n)
    if not out:
        raise argparse.ArgumentTypeError("empty list")
    return out


def _parse_impls(text: str) -> list[str]:
    out = _split(text)
    bad = [t for t in out if t not in CONTENDERS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)} (choose from {', '.join(CONTENDERS)})")
    return out


def default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="losskit bench",
        description=(
            "Benchmark losskit's elementwise regression losses (value + gradient, mean reduction) "
            "against NumPy and PyTorch, next to a same-shape memory-bandwidth kernel."
        ),
    )
    p.add_argument("--suite", choices=["regression", "classification"], default="regression",
                   help="regression (default): the elementwise losses below; classification: softmax "
                        "cross-entropy and BCE-with-logits (see `--suite classification --help`)")
    p.add_argument("--quick", action="store_true",
                   help=f"a smoke run in well under a minute (sizes {','.join(f'{n:.0e}' for n in QUICK_SIZES)}, few repeats)")
    p.add_argument("--sizes", type=_parse_sizes, help="comma-separated N, e.g. 1e3,1e5,1e7 (default 1e2..1e7)")
    p.add_argument("--losses", type=_parse_losses, help=f"comma-separated, or 'all' (default): {','.join(LOSSES)}")
    p.add_argument("--dtypes", type=_parse_dtypes, help="float32,float64 (default both)")
    p.add_argument("--threads", type=_parse_threads,
                   help="comma-separated thread counts, e.g. 1,2 (default: OMP_NUM_THREADS or the CPUs available)")
    p.add_argument("--impls", type=_parse_impls, help=f"contenders (default all): {','.join(CONTENDERS)}")
    p.add_argument("--repeats", type=int, help="minimum rounds per case (default 7, --quick 3)")
    p.add_argument("--budget", type=float, help="seconds per case before stopping at the minimum rounds (default 0.4, --quick 0.03)")
    p.add_argument("--gap-ms", type=float, default=0.0,
                   help="pause before each sample at N >= %d with >1 thread, e.g. to let spinning worker "
                        "threads of the previous contender stop (default 0)" % GAP_MIN_N)
    p.add_argument("--no-overhead", action="store_true", help=f"skip the per-call overhead table (N={OVERHEAD_N})")
    p.add_argument("--no-stream", action="store_true", help="skip the bandwidth kernel")
    p.add_argument("--cc", default="cc", help="C compiler for the bandwidth kernel (default: cc)")
    p.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write all results (every sample) as JSON")
    p.add_argument("--markdown", metavar="PATH", nargs="?", const="-",
                   help="markdown tables: to PATH, or instead of the plain tables on stdout if no PATH")
    p.add_argument("--list", action="store_true", help="list losses and contenders, then exit")
    return p


# ------------------------------------------------------------------------------ cases

def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(msg, file=sys.stderr, flush=True)


def _fmt_exc(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {' / '.join(lines[:4])}"[:400]


def run_case(spec, x, y, dtype, threads, names, st, stream_kernel, with_stream: bool, suite=None) -> dict:
    """Check then time every contender on one loss / dtype / N / thread count.

    ``suite`` (default: the regression losses of this module) supplies the
    contender table, the peers, the builder, the references and the byte model;
    :mod:`bench.classification` passes its own (see ``Suite`` there).
    """
    impls_tab = suite.impls if suite is not None else IMPLS
    peers_tab = suite.peers if suite is not None else PEERS
    build = suite.build if suite is not None else impls_mod.build
    stream_ref = suite.stream_reference if suite is not None else impls_mod.stream_reference
    n = x.size
    case = {
        "loss": spec.name, "dtype": str(np.dtype(dtype)), "n": n, "threads": threads,
        "bytes": 3 * n * np.dtype(dtype).itemsize, "impls": {}, "stream": None, "best_peer": None,
    }
    if suite is not None:
        case.update(suite.case_fields(spec, x, y))
    ref = suite.reference(spec, x, y) if suite is not None else workloads.reference(spec, x, y)
    x_copy = y_copy = None
    if any(impls_tab[nm][0] == "losskit" for nm in names) and impls_mod.get_module("losskit") is not None:
        x_copy, y_copy = x.copy(), y.copy()

    live = []
    order = list(names) + (["stream"] if with_stream else [])
    stream_impl = None
    for name in order:
        rec = {"impl": name, "family": impls_tab[name][0], "uses_out": impls_tab[name][1], "status": "ok",
               "message": "", "value_err": None, "grad_err": None}
        case["impls"][name] = rec
        try:
            imp = build(name, spec, x, y, threads, stream_kernel)
        except Unavailable as exc:
            rec["status"], rec["message"] = "unavailable", str(exc)
            continue
        except Exception as exc:
            rec["status"], rec["message"] = "error", "constructing: " + _fmt_exc(exc)
            continue
        rec.update(getattr(imp, "info", None) or {})  # e.g. torch.compile's compile time
        try:
            result = imp.call()
        except Exception as exc:
            rec["status"], rec["message"] = "error", _fmt_exc(exc)
            continue
        r = stream_ref(x, y) if name == "stream" else ref
        chk = workloads.check(result, r, dtype)
        rec["value_err"], rec["grad_err"] = chk.value_err, chk.grad_err
        msgs = [chk.message] if chk.message else []
        if imp.validate is not None:
            m = imp.validate(result)
            if m:
                msgs.append(m)
        if rec["family"] == "losskit":
            # for the report's "same bits for every thread count" check (SPEC section 7)
            try:
                rec["value"] = float(result[0])
                g = np.ascontiguousarray(workloads.to_numpy(result[1]))
                rec["grad_crc32"] = zlib.crc32(g.view(np.uint8).reshape(-1))
            except Exception:
                pass
        del result
        if x_copy is not None and (not np.array_equal(x, x_copy) or not np.array_equal(y, y_copy)):
            msgs.append("modified its input or target")
            x[...] = x_copy
            y[...] = y_copy
        if msgs:
            rec["status"], rec["message"] = "wrong", "; ".join(msgs)
            continue
        if name == "stream":
            stream_impl = imp
        else:
            live.append(imp)

    timings = timing.measure(live, st, stream_impl)

    for name, tm in timings.items():
        rec = case["impls"][name]
        if tm.error:
            rec["status"], rec["message"] = "error", "while timing: " + tm.error
        if not tm.samples:
            continue
        lo, hi = tm.quartiles()
        rec.update({
            "median_s": tm.median, "min_s": tm.min, "max_s": tm.max, "q1_s": lo, "q3_s": hi,
            "calls_per_sample": tm.calls, "samples_s": tm.samples,
            "gbps": case["bytes"] / tm.median / 1e9,
        })
        if name == "stream":
            case["stream"] = {
                "median_s": tm.median, "gbps": case["bytes"] / tm.median / 1e9,
                "gbps_before": case["bytes"] / tm.before / 1e9 if tm.before == tm.before else None,
                "gbps_after": case["bytes"] / tm.after / 1e9 if tm.after == tm.after else None,
                "gbps_min": case["bytes"] / tm.max / 1e9, "gbps_max": case["bytes"] / tm.min / 1e9,
            }
    ok = lambda nm: case["impls"].get(nm, {}).get("status") == "ok" and "median_s" in case["impls"][nm]
    peers = [nm for nm in peers_tab if ok(nm)]
    best = min(peers, key=lambda nm: case["impls"][nm]["median_s"]) if peers else None
    case["best_peer"] = best
    for name, rec in case["impls"].items():
        if not ok(name):
            continue
        if case["stream"] is not None:
            rec["pct_bw"] = 100.0 * case["stream"]["median_s"] / rec["median_s"]
        if best is not None and name != "stream":
            rec["vs_best_peer"] = rec["median_s"] / case["impls"][best]["median_s"]
    return case


# ------------------------------------------------------------------------------- main

def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        ncpu = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    return {"cpu": cpu, "cpus": ncpu, "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "loadavg_start": load}


def _requested_suite(argv: list[str] | None) -> str | None:
    """The value of --suite, if given (the full parser reports a bad one)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--suite")
    try:
        known, _ = pre.parse_known_args(argv)
    except SystemExit:
        return None
    return known.suite


def finish_run(args: argparse.Namespace, results: dict, t_start: float, interrupted: bool) -> int:
    """Stamp the results, print and write the reports; the exit status (130 if interrupted, 1 if
    a losskit result was wrong or raised, else 0)."""
    results["elapsed_s"] = time.perf_counter() - t_start
    try:
        results["machine"]["loadavg_end"] = list(os.getloadavg())
    except (AttributeError, OSError):
        pass
    results["interrupted"] = interrupted

    md = args.markdown
    if md == "-":
        print(report.render(results, markdown=True))
    else:
        print(report.render(results, markdown=False))
        if md:
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
    bad = [c for c in results["cases"] + results.get("overhead", [])
           for r in c["impls"].values() if r["family"] == "losskit" and r["status"] in ("wrong", "error")]
    return 1 if bad else 0


def setup_run(parser: argparse.ArgumentParser, args: argparse.Namespace, impls: dict,
              contenders) -> tuple | int:
    """Checks and settings every suite shares: (contender names, timing settings, gap in s,
    bandwidth kernel, its message), or an exit code after printing the error."""
    names = args.impls or list(contenders)
    if args.repeats is not None and args.repeats < 1:
        parser.print_usage(sys.stderr)
        print("losskit bench: error: --repeats must be >= 1", file=sys.stderr)
        return 2
    st = timing.Settings(
        min_rounds=args.repeats or (3 if args.quick else 7),
        max_rounds=max(args.repeats or 0, 9 if args.quick else 51),
        budget_s=args.budget if args.budget is not None else (0.03 if args.quick else 0.4),
        min_sample_s=5e-4 if args.quick else 2e-3,
    )
    gap_s = max(0.0, args.gap_ms) / 1e3
    # Fail now, not after a long run, if an output file cannot be written.
    for path in (args.json, args.markdown if args.markdown != "-" else None):
        if path:
            try:
                with open(path, "a"):
                    pass
            except OSError as exc:
                print(f"losskit bench: error: cannot write {path}: {exc}", file=sys.stderr)
                return 2

    # Optional contenders, imported lazily (and only when asked for).
    if any(impls[n][0] == "losskit" for n in names):
        impls_mod.get_module("losskit")
    if any(n.startswith("torch") for n in names):
        impls_mod.get_module("torch")

    stream_kernel, stream_msg = (None, "disabled (--no-stream)")
    if not args.no_stream:
        stream_kernel, stream_msg = stream.build(args.cc)
        if stream_kernel is None:
            print(f"note: {stream_msg}", file=sys.stderr)
    return names, st, gap_s, stream_kernel, stream_msg


def main(argv: list[str] | None = None) -> int:
    if _requested_suite(argv) == "classification":
        from . import classification

        return classification.main(argv)
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: return its code instead of exiting
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2

    if args.list:
        print("losses:")
        for spec in LOSSES.values():
            print(f"  {spec.name:22s} losskit.{spec.cls}({', '.join(f'{k}={v!r}' for k, v in spec.params.items())})  {spec.formula}")
        print("contenders:")
        for name, (_fam, _out, desc) in IMPLS.items():
            print(f"  {name:16s} {desc}")
        return 0

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    losses = args.losses or list(LOSSES)
    dtypes = args.dtypes or ["float32", "float64"]
    threads_list = args.threads or [default_threads()]
    setup = setup_run(parser, args, IMPLS, CONTENDERS)
    if isinstance(setup, int):
        return setup
    names, st, gap_s, stream_kernel, stream_msg = setup

    results = {
        "schema": "losskit-bench/1",
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "losskit": impls_mod.losskit_info(),
        "torch": impls_mod.torch_info(),
        "stream_kernel": {"available": stream_kernel is not None, "info": stream_msg,
                          "openmp": getattr(stream_kernel, "openmp", None),
                          "parallel_min_n": stream.PARALLEL_MIN},
        "config": {"sizes": sizes, "losses": losses, "dtypes": dtypes, "threads": threads_list,
                   "impls": names, "quick": args.quick, "seed": args.seed,
                   "min_rounds": st.min_rounds, "max_rounds": st.max_rounds, "budget_s": st.budget_s,
                   "min_sample_s": st.min_sample_s, "gap_s": gap_s, "gap_min_n": GAP_MIN_N,
                   "settle_call_before_long_samples": "when threads > 1"},
        "bytes_model": "3 * N * itemsize (read input and target, write gradient)",
        "contenders": {k: {"family": v[0], "uses_out": v[1], "description": v[2]} for k, v in IMPLS.items()},
        "losses": {k: {"class": s.cls, "params": s.params, "formula": s.formula,
                       "torch_functional": s.torch_functional or None} for k, s in LOSSES.items()},
        "thread_settings": [],
        "overhead": [],
        "cases": [],
    }

    saved_threads = impls_mod.get_threads()
    t_start = time.perf_counter()
    interrupted = False
    try:
        total = len(threads_list) * len(dtypes) * len(sizes) * len(losses)
        done = 0
        for threads in threads_list:
            applied = impls_mod.set_threads(threads)
            results["thread_settings"].append({"threads": threads, "applied": applied})
            if not args.no_overhead:
                ost = timing.Settings(min_rounds=st.min_rounds, max_rounds=st.max_rounds,
                                      budget_s=st.budget_s / 2, min_sample_s=st.min_sample_s)
                for dtype in dtypes:
                    for lname in losses:
                        spec = LOSSES[lname]
                        _progress(f"overhead  {lname} {dtype} N={OVERHEAD_N} threads={threads}")
                        x, y = workloads.make_data(spec.data, OVERHEAD_N, dtype, args.seed)
                        case = run_case(spec, x, y, dtype, threads, names, ost, None, with_stream=False)
                        results["overhead"].append(case)
            for dtype in dtypes:
                for n in sizes:
                    data: dict = {}
                    st.gap_s = gap_s if (threads > 1 and n >= GAP_MIN_N) else 0.0
                    st.settle = threads > 1
                    for lname in losses:
                        spec = LOSSES[lname]
                        done += 1
                        _progress(f"[{done}/{total}] {lname} {dtype} N={report.fmt_n(n)} threads={threads}")
                        if spec.data not in data:
                            data[spec.data] = workloads.make_data(spec.data, n, dtype, args.seed)
                        x, y = data[spec.data]
                        case = run_case(spec, x, y, dtype, threads, names, st, stream_kernel,
                                        with_stream=stream_kernel is not None)
                        results["cases"].append(case)
                    del data
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: reporting what was measured", file=sys.stderr)
    finally:
        if saved_threads:
            impls_mod.set_threads(None, saved_threads)
    return finish_run(args, results, t_start, interrupted)
