"""Plain-text and markdown tables of a run, and the JSON clean-up."""

from __future__ import annotations

import math
from typing import Any, Callable

# Value errors above these (relative) are listed as accuracy notes.
ACCURACY_NOTE = {"float32": 1e-5, "float64": 1e-12}
STATUS_CELL = {"wrong": "WRONG", "error": "ERROR", "unavailable": "n/a"}


# ---------------------------------------------------------------------------- formats

def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt_time(s: Any) -> str:
    if not _finite(s):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return f"{v:.{digits}f} {unit}"
    return "-"  # pragma: no cover


def fmt_us(s: Any) -> str:
    if not _finite(s):
        return "-"
    v = s * 1e6
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_gbps(x: Any) -> str:
    return f"{x:.1f}" if _finite(x) else "-"


def fmt_pct(x: Any) -> str:
    return f"{x:.0f}%" if _finite(x) else "-"


def fmt_ratio(x: Any) -> str:
    return f"{x:.2f}x" if _finite(x) else "-"


def fmt_err(x: Any) -> str:
    if not _finite(x):
        return "-"
    return "0" if x == 0 else f"{x:.0e}"


def _short(msg: str, width: int = 60) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= width else msg[: width - 3] + "..."


def table(headers: list[str], rows: list, align: str, markdown: bool) -> str:
    """``rows`` may contain ``None`` (a blank separator line in text output)."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|"]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows if row is not None]
        return "\n".join(lines)
    widths = [len(h) for h in headers]
    for row in rows:
        if row is not None:
            widths = [max(w, len(str(c))) for w, c in zip(widths, row)]

    def line(cells: list) -> str:
        return "  ".join(str(c).rjust(w) if a == "r" else str(c).ljust(w)
                         for c, w, a in zip(cells, widths, align)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])]
                     + ["" if row is None else line(row) for row in rows])


# ------------------------------------------------------------------------- selections

def timed(rec: dict | None) -> bool:
    return rec is not None and rec.get("status") == "ok" and _finite(rec.get("median_s"))


def best_losskit(case: dict) -> str | None:
    """The fastest losskit contender of a case (losskit[out] for the losses, in practice)."""
    names = [n for n, r in case["impls"].items() if r["family"] == "losskit" and timed(r)]
    return min(names, key=lambda n: case["impls"][n]["median_s"]) if names else None


def cases_of(results: dict, table_name: str) -> list[dict]:
    return [c for c in results["cases"] if c["table"] == table_name]


def _workload_order(results: dict) -> dict[str, int]:
    return {w: i for i, w in enumerate(results["workloads"])}


def _time_cell(rec: dict | None, fmt: Callable[[Any], str] = fmt_time) -> str:
    if rec is None:
        return ""
    if timed(rec):
        return fmt(rec["median_s"])
    return STATUS_CELL.get(rec["status"], rec["status"])


def _columns(cases: list[dict]) -> list[str]:
    """Contender columns of a group of cases, in the workloads' order, without the columns
    that have no measurement at all (listed under Problems instead)."""
    names: dict[str, None] = {}
    for c in cases:
        for n, r in c["impls"].items():
            if n != "stream" and r["status"] != "unavailable":
                names.setdefault(n, None)
    return list(names)


def _groups(cases: list[dict]) -> list[list[dict]]:
    """Cases grouped by the contenders their workload has (the losses share one table)."""
    groups: dict[tuple, list[dict]] = {}
    for c in cases:
        groups.setdefault(tuple(n for n in c["impls"] if n != "stream"), []).append(c)
    return list(groups.values())


# ----------------------------------------------------------------------------- render

def render(results: dict, markdown: bool = False) -> str:
    """The report of a run.

    Parameters
    ----------
    results : dict
        The run, as :func:`bench.run.main` builds it.
    markdown : bool
        Markdown headings and tables instead of plain text.

    Returns
    -------
    str
        The header, every table measured, the problems and the targets.
    """

    def h(level: int, text: str) -> str:
        if markdown:
            return f"{'#' * level} {text}"
        return f"{text}\n{('=' if level <= 2 else '-') * len(text)}"

    out = [h(1 if markdown else 2, "losskit benchmark"), _header(results, markdown)]
    overhead = cases_of(results, "overhead")
    if overhead:
        out.append(h(2, f"Per-call overhead (microseconds per call, median; N = {overhead[0]['label']} "
                        "or the shape shown)"))
        out += [_times_table(g, markdown, per_call=True) for g in _groups(overhead)]
    sizes = cases_of(results, "sizes")
    if sizes:
        out.append(h(2, "Time per call (median) by size"))
        out.append("out= contenders write into a preallocated, already-touched buffer reused every call; the "
                   "others get new arrays every call, page faults included. * = the best peer of the case; "
                   "stream = the bandwidth kernel's GB/s in the same case.")
        out += [_times_table(g, markdown) for g in _groups(sizes)]
        out.append(h(2, "losskit against the bandwidth kernel and the best peer"))
        out.append("GB/s: the bytes one call must move (see each workload's model in the JSON) / median time; "
                   "%BW: the share of the same-shape bandwidth kernel measured in the same case; "
                   "vs best: losskit's time / the best peer's (< 1: faster than every peer).")
        out.append(_summary_table(results, sizes, markdown))
    scaling = _scaling_table(results, markdown)
    if scaling:
        out.append(h(2, "Thread scaling (median time per call; speedup = first / last thread count)"))
        out.append(scaling)
    isa = _isa_table(results, markdown)
    if isa:
        out.append(h(2, "losskit per instruction set (float32, one thread, median time per call)"))
        out.append(isa)
    for title, text in (("losskit: results differ between thread counts", _thread_consistency(results, markdown)),
                        ("Problems (not timed)", _problems(results, markdown)),
                        ("Accuracy notes", _accuracy_notes(results, markdown))):
        if text:
            out += [h(2, title), text]
    if results.get("targets"):
        out += [h(2, "Targets"), _targets(results, markdown)]
    plot = results.get("plot")
    if plot:
        out.append(plot["message"])
    tail = f"elapsed {results.get('elapsed_s', float('nan')):.1f} s"
    if results.get("interrupted"):
        tail += " (interrupted: partial results)"
    out.append(tail)
    return "\n\n".join(out)


def _header(results: dict, markdown: bool) -> str:
    m = results["machine"]
    cfg = results["config"]
    libs = []
    stream_txt = "not run" if not cfg.get("stream") else "not started"
    for hello in results.get("libraries", []):
        family = hello["family"]
        if hello["forced_isa"]:
            continue  # the per-ISA table's workers
        if family == "stream":
            stream_txt = hello.get("stream") or hello.get("error", "?")
            continue
        if not hello.get("available"):
            text = f"{family} not available ({_short(str(hello.get('error', '')), 60)})"
        else:
            text = f"{family} {hello.get('version', '?')}"
            if family == "losskit":
                text += f" from {hello.get('file', '?')} (isa {hello.get('isa')} of {','.join(hello.get('available_isas', []))})"
        if text not in libs:
            libs.append(text)
    lines = [
        f"machine: {m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, NumPy {m['numpy']}",
        "libraries (each in its own worker process): " + ("; ".join(libs) or "-"),
        f"bandwidth kernel: {stream_txt}",
        f"main tables at {cfg['threads']} thread(s); at least {cfg['min_rounds']} interleaved rounds per case, "
        f"{cfg['budget_s']:g} s budget" + ("; --quick" if cfg.get("quick") else ""),
        "environment of every worker: " + (", ".join(f"{k}={v}" for k, v in results["environment"].items())
                                           or "-") + " (the same OpenMP waiting policy for all: losskit's "
                                           "default unless set; thread counts are set per worker)",
    ]
    load = m.get("loadavg_start")
    if load and m.get("cpus") and load[0] > 0.5 * m["cpus"]:
        lines.append(f"WARNING: load average {load[0]:.1f} on {m['cpus']} CPUs when the run started: other work "
                     "is competing for the cores and the memory; multi-threaded timings in particular are unreliable.")
    return "\n".join(f"- {ln}" for ln in lines) if markdown else "\n".join(lines)


def _sorted(results: dict, cases: list[dict]) -> list[dict]:
    order = _workload_order(results)
    pos = {id(c): i for i, c in enumerate(results["cases"])}
    return sorted(cases, key=lambda c: (order.get(c["workload"], 99), c["dtype"], c["threads"], pos[id(c)]))


def _times_table(cases: list[dict], markdown: bool, per_call: bool = False) -> str:
    names = _columns(cases)
    with_stream = any(c.get("stream") for c in cases)
    headers = ["workload", "dtype", "size"] + names + (["stream GB/s"] if with_stream else [])
    rows: list = []
    prev = None
    for c in cases:
        if prev is not None and (c["workload"], c["dtype"]) != prev:
            rows.append(None)
        prev = (c["workload"], c["dtype"])
        row = [c["workload"], c["dtype"], c["label"]]
        for n in names:
            cell = _time_cell(c["impls"].get(n), fmt_us if per_call else fmt_time)
            row.append(cell + (" *" if n == c.get("best_peer") else ""))
        if with_stream:
            row.append(fmt_gbps((c.get("stream") or {}).get("gbps")))
        rows.append(row)
    return table(headers, rows, "lll" + "r" * (len(names) + with_stream), markdown)


def _summary_table(results: dict, cases: list[dict], markdown: bool) -> str:
    headers = ["workload", "dtype", "size", "thr", "stream GB/s", "losskit", "time", "GB/s", "%BW",
               "best peer", "time", "%BW", "vs best"]
    rows: list = []
    flagged = False
    prev = None
    for c in _sorted(results, cases):
        if prev is not None and c["workload"] != prev:
            rows.append(None)
        prev = c["workload"]
        lk, peer = best_losskit(c), c.get("best_peer")
        lk_rec = c["impls"].get(lk, {})
        peer_rec = c["impls"].get(peer, {})
        bw = fmt_gbps((c.get("stream") or {}).get("gbps"))
        if any(_finite(r.get("pct_bw")) and r["pct_bw"] > 110 for n, r in c["impls"].items() if n != "stream"):
            bw += " !"
            flagged = True
        rows.append([c["workload"], c["dtype"], c["label"], c["threads"], bw,
                     lk or "-", fmt_time(lk_rec.get("median_s")), fmt_gbps(lk_rec.get("gbps")),
                     fmt_pct(lk_rec.get("pct_bw")), peer or "-", fmt_time(peer_rec.get("median_s")),
                     fmt_pct(peer_rec.get("pct_bw")), fmt_ratio(lk_rec.get("vs_best_peer"))])
    text = table(headers, rows, "lllrrlrrrlrrr", markdown)
    if flagged:
        text += ("\n\n! = some contender beat the bandwidth kernel by more than 10% in this case: the reference "
                 "was disturbed (other load, or threads descheduled); its %BW figures are not meaningful.")
    return text


def _scaling_table(results: dict, markdown: bool) -> str:
    """The largest float32 case of each workload at every thread count measured."""
    scaled = cases_of(results, "threads")
    if not scaled:
        return ""
    keys = {(c["workload"], c["dtype"], c["label"]) for c in scaled}
    by_key: dict[tuple, dict[int, dict]] = {}
    for c in results["cases"]:
        key = (c["workload"], c["dtype"], c["label"])
        if key in keys and c["table"] in ("sizes", "threads"):
            by_key.setdefault(key, {})[c["threads"]] = c
    counts = sorted({t for per_t in by_key.values() for t in per_t})
    headers = ["workload", "dtype", "size", "contender"] + [f"{t} thr" for t in counts] + ["speedup"]
    rows: list = []
    order = _workload_order(results)
    for key in sorted(by_key, key=lambda k: order.get(k[0], 99)):
        per_t = by_key[key]
        top = per_t[max(per_t)]
        shown = [n for n in (best_losskit(top), top.get("best_peer")) if n]
        if rows:
            rows.append(None)
        for i, name in enumerate(shown + (["stream"] if top.get("stream") else [])):
            times = [per_t[t]["impls"].get(name, {}).get("median_s") if t in per_t else None for t in counts]
            cells = [fmt_time(x) for x in times]
            if name == "stream":
                cells = [fmt_gbps((per_t[t].get("stream") or {}).get("gbps")) + " GB/s" if t in per_t else "-"
                         for t in counts]
            first, last = times[0], times[-1]
            speedup = fmt_ratio(first / last) if _finite(first) and _finite(last) and last > 0 else "-"
            lead = list(key) if i == 0 else ["", "", ""]
            rows.append(lead + [name] + cells + [speedup])
    return table(headers, rows, "llll" + "r" * (len(counts) + 1), markdown)


def _isa_table(results: dict, markdown: bool) -> str:
    isa_cases = cases_of(results, "isa")
    if not isa_cases:
        return ""
    isas = list(dict.fromkeys(r["isa"] for c in isa_cases for r in c["impls"].values()))
    headers = ["workload", "size", "contender"] + isas + [f"{isas[0]} / {isa}" for isa in isas[1:]]
    rows = []
    for c in _sorted(results, isa_cases):
        recs = {r["isa"]: r for r in c["impls"].values()}
        base = recs[isas[0]].get("median_s")
        ratios = [fmt_ratio(base / recs[i]["median_s"]) if timed(recs.get(i)) and _finite(base) else "-"
                  for i in isas[1:]]
        rows.append([c["workload"], c["label"], next(iter(c["impls"].values()))["contender"]]
                    + [_time_cell(recs.get(i)) for i in isas] + ratios)
    note = (f"{isas[0]} is the lowest level losskit compiles (there is no scalar build), forced with LOSSKIT_ISA "
            "in a worker of its own; the ratios are speedups over it.")
    return note + "\n\n" + table(headers, rows, "lll" + "r" * (2 * len(isas) - 1), markdown)


def _problems(results: dict, markdown: bool) -> str:
    groups: dict[tuple, list[str]] = {}
    for c in results["cases"]:
        for name, rec in c["impls"].items():
            if rec["status"] != "ok":
                where = f"{c['workload']} {c['dtype']} {c['label']} t={c['threads']}"
                groups.setdefault((name, rec["status"], rec.get("message", "")), []).append(where)
    if not groups:
        return ""
    total = len(results["cases"])
    rows = []
    for (name, status, msg), where in groups.items():
        text = f"{len(where)} of {total} cases" if len(where) > 3 else ", ".join(where)
        rows.append([name, status, text, msg if markdown else _short(msg, 90)])
    return table(["contender", "status", "where", "message"], rows, "llll", markdown)


def _thread_consistency(results: dict, markdown: bool) -> str:
    """losskit promises results bitwise identical whatever the thread count: list any case where they differ."""
    seen: dict[tuple, dict[int, tuple]] = {}
    for c in results["cases"]:
        for name, rec in c["impls"].items():
            if rec["family"] == "losskit" and "crc32" in rec and rec.get("isa") is None:
                key = (name, c["workload"], c["dtype"], c["label"])
                seen.setdefault(key, {})[c["threads"]] = (rec.get("value"), rec["crc32"])
    rows = []
    for (name, workload, dtype, label), by_t in seen.items():
        if len(set(by_t.values())) > 1:
            detail = "; ".join(f"t={t}: value {v!r}, crc32 {crc}" for t, (v, crc) in sorted(by_t.items()))
            rows.append([name, workload, dtype, label, detail])
    return table(["contender", "workload", "dtype", "size", "per thread count"], rows, "llllr", markdown) if rows else ""


def _accuracy_notes(results: dict, markdown: bool) -> str:
    worst: dict[tuple, tuple] = {}
    for c in results["cases"]:
        if results["workloads"].get(c["workload"], {}).get("suite") == "epoch":
            continue  # its "value error" is an accuracy shortfall, not a rounding error
        limit = ACCURACY_NOTE.get(c["dtype"], 0)
        for name, rec in c["impls"].items():
            e = rec.get("value_err")
            if name != "stream" and _finite(e) and e > limit:
                key = (name, c["workload"], c["dtype"])
                if key not in worst or e > worst[key][0]:
                    worst[key] = (e, c["label"])
    if not worst:
        return ""
    rows = [[n, w, d, fmt_err(e), label] for (n, w, d), (e, label) in sorted(worst.items())]
    note = (f"value errors above {ACCURACY_NOTE['float32']:g} (float32) / {ACCURACY_NOTE['float64']:g} (float64) "
            "relative: within the correctness gate, but worth knowing (float32 sums accumulated in float32)")
    return note + "\n\n" + table(["contender", "workload", "dtype", "worst value err", "at size"], rows, "lllrr", markdown)


def _targets(results: dict, markdown: bool) -> str:
    verdicts = results["targets"]["targets"]
    text = table(["target", "status", "measured"], [[t["target"], t["status"], t["summary"]] for t in verdicts],
                 "lll", markdown)
    misses = [f"{t['id']}: {miss}" for t in verdicts for miss in t["misses"]]
    parts = [text, results["targets"]["note"] + "."]
    if misses:
        parts.append("Misses, worst first:\n" + "\n".join(f"- {m}" for m in misses))
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------- JSON

def jsonable(obj: Any) -> Any:
    """NaN / inf -> None, tuples -> lists, NumPy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if hasattr(obj, "dtype") and obj.dtype.kind in "iu":
        return int(obj)
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    return f if math.isfinite(f) else None
