"""The performance targets of losskit, evaluated on a run's measurements.

The targets are stated for float32 at 2 threads; they are evaluated on the float32 cases of
the main tables, at whatever thread count those ran (the note says so when it is not 2):

``bandwidth``  every elementwise loss, value + gradient at N = 1e7, within 1.2x of the
               same-shape bandwidth kernel;
``peers``      losskit faster than the best peer at every size of every workload;
``overhead``   losskit's per-call overhead at most half of the cheapest peer's;
``optimizer``  Adam and SGD steps at least as fast as torch.optim's fused ones;

and the targets of the costlier kernels, as ratios to peers measured in the same run (absolute
times differ from machine to machine; ratios within one run are comparable anywhere):

``ce-large``   cross-entropy value + gradient at (4096, 1000) at least 1.5x faster than the
               fastest peer;
``ce-small``   at (65536, 10) at least 2x faster than torch.compile;
``bce``        BCE-with-logits at N = 1e7 within 1.5x of the same-shape bandwidth kernel;
``barron``     Barron's loss value + gradient at N = 1e7 within 2x of MSE's time.

Each target is met, missed (by how much, and where: worst first), or not measured (the run
did not include the cases it needs).
"""

from __future__ import annotations

from typing import Any

from .report import best_losskit, cases_of, fmt_time, timed

DTYPE = "float32"
THREADS = 2
BANDWIDTH_N = 10**7
BANDWIDTH_RATIO = 1.2
OVERHEAD_RATIO = 0.5
CE_LARGE, CE_LARGE_SPEEDUP = [4096, 1000], 1.5
CE_SMALL, CE_SMALL_SPEEDUP = [65536, 10], 2.0
BCE_RATIO = 1.5
BARRON_OVER_MSE = 2.0


def _where(c: dict) -> str:
    return f"{c['workload']} {c['label']}"


def _verdict(target_id: str, target: str, checks: list[tuple[float, float, str]], unit: str) -> dict:
    """``checks``: (measured ratio, limit, where). Met when every ratio is within its limit."""
    out: dict[str, Any] = {"id": target_id, "target": target, "checks": len(checks)}
    if not checks:
        return {**out, "status": "not measured", "summary": "the run has none of the cases this target needs",
                "misses": []}
    missed = sorted((c for c in checks if not c[0] <= c[1]), key=lambda c: c[0] / c[1], reverse=True)
    out["misses"] = [f"{where}: {ratio:.2f}{unit} (limit {limit:g}{unit}, missed by {100 * (ratio / limit - 1):.0f}%)"
                     for ratio, limit, where in missed]
    worst = max(checks, key=lambda c: c[0] / c[1])
    if not missed:
        return {**out, "status": "met", "summary": f"all {len(checks)} cases; worst {worst[0]:.2f}{unit} "
                                                   f"({worst[2]})"}
    return {**out, "status": "missed",
            "summary": f"missed in {len(missed)} of {len(checks)} cases, by up to "
                       f"{100 * (worst[0] / worst[1] - 1):.0f}% ({worst[2]}: {worst[0]:.2f}{unit})"}


def _main_cases(results: dict, table: str) -> list[dict]:
    """The cases of a main table at the main thread count, float32 (or the only dtype of a
    workload without float32: the epoch)."""
    threads = results["config"]["threads"]
    return [c for c in cases_of(results, table) if c["threads"] == threads
            and (c["dtype"] == DTYPE or DTYPE not in results["workloads"][c["workload"]]["dtypes"])]


def _vs_kernel(c: dict, limit: float) -> list[tuple[float, float, str]]:
    """The check of case ``c``'s fastest losskit time against its bandwidth kernel (none
    where either is missing)."""
    lk = best_losskit(c)
    if not (lk and c.get("stream")):
        return []
    rec = c["impls"][lk]
    return [(rec["median_s"] / c["stream"]["median_s"], limit,
             f"{_where(c)} ({lk} {fmt_time(rec['median_s'])}, {rec.get('gbps', 0):.1f} GB/s; "
             f"kernel {fmt_time(c['stream']['median_s'])}, {c['stream']['gbps']:.1f} GB/s)")]


def _vs_peer(c: dict, peer: str | None, limit: float) -> list[tuple[float, float, str]]:
    """The check of case ``c``'s fastest losskit time against ``peer``'s (none where either
    was not timed)."""
    lk = best_losskit(c)
    if not (lk and peer and timed(c["impls"].get(peer))):
        return []
    a, b = c["impls"][lk]["median_s"], c["impls"][peer]["median_s"]
    return [(a / b, limit, f"{_where(c)} ({lk} {fmt_time(a)} vs {peer} {fmt_time(b)})")]


def _bandwidth(results: dict) -> dict:
    checks = [check for c in _main_cases(results, "sizes")
              if results["workloads"][c["workload"]]["elementwise"] and c["elements"] == BANDWIDTH_N
              for check in _vs_kernel(c, BANDWIDTH_RATIO)]
    return _verdict("bandwidth", f"elementwise loss value+grad at N=1e7 within {BANDWIDTH_RATIO:g}x of the "
                                 "same-shape bandwidth kernel", checks, "x")


def _against_peers(results: dict, table: str, limit: float) -> list[tuple[float, float, str]]:
    return [check for c in _main_cases(results, table) for check in _vs_peer(c, c.get("best_peer"), limit)]


def _optimizer(results: dict) -> dict:
    checks = [check for c in _main_cases(results, "sizes") if c["suite"] == "optim"
              for check in _vs_peer(c, "torch-fused", 1.0)]
    return _verdict("optimizer", "Adam and SGD steps at least as fast as torch.optim fused", checks, "x")


def _case(results: dict, workload: str, shape: list) -> dict | None:
    return next((c for c in _main_cases(results, "sizes") if c["workload"] == workload and c["shape"] == shape),
                None)


def _ce(results: dict, target_id: str, shape: list, speedup: float, peer: str | None) -> dict:
    """CE at ``shape`` at least ``speedup`` x faster than ``peer`` (None: the fastest peer)."""
    c = _case(results, "ce", shape)
    checks = _vs_peer(c, peer or c.get("best_peer"), 1 / speedup) if c else []
    against = peer or "the fastest peer"
    return _verdict(target_id, f"cross-entropy {shape[0]}x{shape[1]} at least {speedup:g}x faster than {against}",
                    checks, "x")


def _bce(results: dict) -> dict:
    c = _case(results, "bce_with_logits", [BANDWIDTH_N])
    return _verdict("bce", f"BCE-with-logits at N=1e7 within {BCE_RATIO:g}x of the same-shape bandwidth kernel",
                    _vs_kernel(c, BCE_RATIO) if c else [], "x")


def _barron(results: dict) -> dict:
    barron, mse = _case(results, "barron", [BANDWIDTH_N]), _case(results, "mse", [BANDWIDTH_N])
    checks = []
    if barron and mse and best_losskit(barron) and best_losskit(mse):
        a = barron["impls"][best_losskit(barron)]["median_s"]
        b = mse["impls"][best_losskit(mse)]["median_s"]
        checks.append((a / b, BARRON_OVER_MSE, f"{_where(barron)} ({fmt_time(a)} vs mse {fmt_time(b)})"))
    return _verdict("barron", f"Barron value+grad at N=1e7 within {BARRON_OVER_MSE:g}x of MSE's time", checks, "x")


def evaluate(results: dict) -> dict:
    """Evaluate every target on a run's results.

    Parameters
    ----------
    results : dict
        The run (``config``, ``workloads``, ``cases``), as :func:`bench.run.main` builds it.

    Returns
    -------
    dict
        ``note``: what was evaluated; ``targets``: per target its ``id``, ``target``,
        ``status`` (met, missed or not measured), ``summary``, ``checks`` (cases evaluated) and
        ``misses`` (worst first, each with its ratio and by how much it missed).
    """
    threads = results["config"]["threads"]
    note = f"evaluated on the {DTYPE} cases at {threads} thread(s)"
    if threads != THREADS:
        note += f" (the targets are stated for {THREADS} threads)"
    return {
        "note": note + "; a ratio is losskit's median time over the other's",
        "targets": [
            _bandwidth(results),
            _verdict("peers", "losskit faster than the best peer at every size, every workload",
                     _against_peers(results, "sizes", 1.0), "x"),
            _verdict("overhead", f"per-call overhead at most {OVERHEAD_RATIO:g}x the cheapest peer's",
                     _against_peers(results, "overhead", OVERHEAD_RATIO), "x"),
            _optimizer(results),
            _ce(results, "ce-large", CE_LARGE, CE_LARGE_SPEEDUP, None),
            _ce(results, "ce-small", CE_SMALL, CE_SMALL_SPEEDUP, "torch-compile"),
            _bce(results),
            _barron(results),
        ],
    }
