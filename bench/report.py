"""Plain-text and markdown tables, and JSON clean-up, for the benchmark results."""

from __future__ import annotations

import math

from .impls import CONTENDERS, IMPLS, PEERS

# Value errors above these (relative) are listed as accuracy notes.
ACCURACY_NOTE = {"float32": 1e-5, "float64": 1e-12}


# ---------------------------------------------------------------------------- formats

def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def fmt_time(s) -> str:
    if not _finite(s):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return f"{v:.{digits}f} {unit}"
    return "-"  # pragma: no cover


def fmt_us(s) -> str:
    if not _finite(s):
        return "-"
    v = s * 1e6
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_gbps(x) -> str:
    return f"{x:.1f}" if _finite(x) else "-"


def fmt_pct(x) -> str:
    return f"{x:.0f}%" if _finite(x) else "-"


def fmt_ratio(x) -> str:
    return f"{x:.2f}x" if _finite(x) else "-"


def fmt_err(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0:
        return "0"
    return f"{x:.0e}"


def fmt_n(n: int) -> str:
    k = round(math.log10(n)) if n > 0 else 0
    if n > 0 and 10**k == n and k >= 2:
        return f"1e{k}"
    return str(n)


def _short(msg: str, width: int = 60) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= width else msg[: width - 3] + "..."


def table(headers: list[str], rows: list, align: str, markdown: bool) -> str:
    """``rows`` may contain ``None`` (a blank separator line in text output)."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|"]
        for row in rows:
            if row is None:
                continue
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
        return "\n".join(lines)
    widths = [len(h) for h in headers]
    for row in rows:
        if row is not None:
            widths = [max(w, len(str(c))) for w, c in zip(widths, row)]

    def line(cells):
        out = []
        for c, w, a in zip(cells, widths, align):
            out.append(str(c).rjust(w) if a == "r" else str(c).ljust(w))
        return "  ".join(out).rstrip()

    lines = [line(headers), line(["-" * w for w in widths])]
    for row in rows:
        lines.append("" if row is None else line(row))
    return "\n".join(lines)


def _case_n(c: dict) -> str:
    """The size column: N, or the shape (e.g. 4096x1000) where the case has one."""
    return c.get("shape_label") or fmt_n(c["n"])


def _contender_order(results: dict) -> list:
    """Contenders (without the stream kernel) in the suite's order."""
    names = [n for n in results.get("contenders", {}) if n != "stream"]
    return names or list(CONTENDERS)


def _status_cell(rec: dict) -> str:
    st = rec.get("status", "?")
    if st == "ok":
        return "ok"
    label = {"wrong": "WRONG", "error": "ERROR", "unavailable": "n/a"}.get(st, st)
    return f"{label}: {_short(rec.get('message', ''), 50)}"


# ----------------------------------------------------------------------------- render

def render(results: dict, markdown: bool = False) -> str:
    h = (lambda level, text: f"{'#' * level} {text}") if markdown else (lambda level, text: f"{text}\n{'=' * len(text) if level <= 2 else '-' * len(text)}")
    out = []
    out.append(h(1 if markdown else 2, results.get("title") or "losskit benchmark: elementwise losses, value + gradient, mean reduction"))
    out.append(_header(results, markdown))

    if results.get("overhead"):
        out.append(h(2, f"Per-call overhead at N={results['overhead'][0]['n']} (microseconds per value_and_grad call, median)"))
        out.append(_overhead_table(results, markdown))

    if results.get("cases"):
        out.append(h(2, "All measurements"))
        out.append(
            f"median and min: seconds per call over interleaved samples; GB/s: {results.get('bytes_short') or '3*N*itemsize'} / median; "
            "%BW: share of the stream kernel's GB/s measured in the same case; vs best: time / best peer's time "
            "(< 1 is faster than every peer); v.err / g.err: relative error of the value, max gradient error "
            "relative to max|grad|, both against a float64 NumPy reference."
        )
        out.append(_detail_table(results, markdown))
        out.append(h(2, "Summary"))
        out.append(results.get("summary_note") or (
            "losskit[out] reuses a preallocated, warmed gradient buffer (out=); losskit and the best peer may "
            "allocate per call. stream = the same-shape bandwidth kernel (g = a - b; s += g*g) in the same case."
        ))
        out.append(_summary_table(results, markdown))

    cons = _thread_consistency(results, markdown)
    if cons:
        out.append(h(2, "losskit: results differ between thread counts"))
        out.append(cons)
    probs = _problems(results, markdown)
    if probs:
        out.append(h(2, "Problems (not timed)"))
        out.append(probs)
    acc = _accuracy_notes(results, markdown)
    if acc:
        out.append(h(2, "Accuracy notes"))
        out.append(acc)
    tail = f"elapsed {results.get('elapsed_s', float('nan')):.1f} s"
    if results.get("interrupted"):
        tail += " (interrupted: partial results)"
    out.append(tail)
    return "\n\n".join(out)


def _header(results: dict, markdown: bool) -> str:
    m = results["machine"]
    lk = results["losskit"]
    th = results["torch"]
    cfg = results["config"]
    sk = results["stream_kernel"]
    if lk.get("available"):
        lk_txt = f"losskit {lk.get('version', '?')} from {lk.get('file', '?')}"
        if "isa" in lk:
            lk_txt += f" (isa {lk['isa']}" + (f", available {','.join(map(str, lk['available_isas']))}" if isinstance(lk.get("available_isas"), list) else "") + ")"
    else:
        lk_txt = "losskit NOT AVAILABLE (" + _short(lk.get("error", ""), 80) + ")"
    torch_txt = f"torch {th['version']}" if th.get("available") else "torch not available"
    applied = "; ".join(
        f"{t['threads']}: " + ", ".join(f"{k}={v}" for k, v in t["applied"].items())
        for t in results.get("thread_settings", [])
    )
    lines = [
        f"machine: {m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, NumPy {m['numpy']}, {torch_txt}, {lk_txt}",
        f"bandwidth kernel: {sk['info']}",
        (f"CE shapes {', '.join('x'.join(map(str, s)) for s in cfg['shapes'])}; " if cfg.get("shapes") else "")
        + f"sizes {', '.join(fmt_n(n) for n in cfg['sizes'])}; dtypes {', '.join(cfg['dtypes'])}; "
        f"threads {', '.join(map(str, cfg['threads']))} (set: {applied or '-'}); "
        f"at least {cfg['min_rounds']} interleaved rounds per case, {cfg['budget_s']:g} s budget",
        "out= column: yes = gradient written into a preallocated, already-touched buffer reused every call; "
        "no = new arrays every call (their page faults are part of the time). NumPy ufuncs run on one thread "
        "whatever the setting (its BLAS dot follows it).",
    ]
    if results.get("header_note"):
        lines.append(results["header_note"])
    load = m.get("loadavg_start")
    if load and m.get("cpus") and load[0] > 0.5 * m["cpus"]:
        lines.append(f"WARNING: load average {load[0]:.1f} on {m['cpus']} CPUs when the run started: other work "
                     "is competing for the cores and memory; multi-threaded timings in particular are unreliable.")
    if markdown:
        return "\n".join(f"- {ln}" for ln in lines)
    return "\n".join(lines)


def _overhead_table(results: dict, markdown: bool) -> str:
    names = [n for n in _contender_order(results) if any(n in c["impls"] for c in results["overhead"])]
    headers = ["loss", "dtype", "thr"] + names
    rows = []
    for c in results["overhead"]:
        row = [c["loss"], c["dtype"], c["threads"]]
        for n in names:
            rec = c["impls"].get(n)
            if rec is None:
                row.append("")
            elif rec["status"] == "ok" and "median_s" in rec:
                row.append(fmt_us(rec["median_s"]))
            else:
                row.append({"wrong": "WRONG", "error": "ERROR", "unavailable": "n/a"}.get(rec["status"], rec["status"]))
        rows.append(row)
    return table(headers, rows, "llr" + "r" * len(names), markdown)


def _sorted_cases(results: dict) -> list:
    """Cases grouped for reading: thread count, dtype, loss (in run order), then N."""
    loss_order = {l: i for i, l in enumerate(results["config"]["losses"])}
    pos = {id(c): i for i, c in enumerate(results["cases"])}
    # cases with a shape (the classification suite) stay in run order within their group
    return sorted(results["cases"], key=lambda c: (c["threads"], c["dtype"], loss_order.get(c["loss"], 99),
                                                   pos[id(c)] if c.get("shape") else c["n"]))


def _detail_table(results: dict, markdown: bool) -> str:
    headers = ["loss", "dtype", "N", "thr", "impl", "out=", "median", "min", "samples", "GB/s", "%BW",
               "vs best", "v.err", "g.err", "status"]
    rows = []
    prev = None
    for c in _sorted_cases(results):
        key = (c["loss"], c["dtype"], c["threads"])
        if prev is not None:
            rows.append(None)
        prev = key
        first = True
        order = [n for n in _contender_order(results) if n in c["impls"]] + (["stream"] if "stream" in c["impls"] else [])
        for name in order:
            rec = c["impls"][name]
            if rec["status"] == "unavailable":
                continue  # listed once under "Problems"
            lead = [c["loss"], c["dtype"], _case_n(c), c["threads"]] if first else ["", "", "", ""]
            first = False
            label = name + (" *" if name == c.get("best_peer") else "")
            note = _status_cell(rec)
            if name == "stream" and c.get("stream"):
                s = c["stream"]
                note = (f"bw ref: before {fmt_gbps(s.get('gbps_before'))}, after {fmt_gbps(s.get('gbps_after'))}, "
                        f"range {fmt_gbps(s.get('gbps_min'))}-{fmt_gbps(s.get('gbps_max'))} GB/s")
            rows.append(lead + [
                label, "yes" if rec["uses_out"] else "no",
                fmt_time(rec.get("median_s")), fmt_time(rec.get("min_s")),
                f"{len(rec['samples_s'])}x{rec['calls_per_sample']}" if rec.get("samples_s") else "-",
                fmt_gbps(rec.get("gbps")),
                fmt_pct(rec.get("pct_bw")), fmt_ratio(rec.get("vs_best_peer")),
                fmt_err(rec.get("value_err")), fmt_err(rec.get("grad_err")), note,
            ])
    text = table(headers, rows, "llrrllrrrrrrrrl", markdown)
    return text + ("\n\n" if markdown else "\n") + (
        "* = best peer in that case; samples = number of samples x calls per sample")


def _bw_disturbed(c: dict) -> bool:
    return any(
        _finite(r.get("pct_bw")) and r["pct_bw"] > 110 for n, r in c["impls"].items() if n != "stream"
    )


def _summary_table(results: dict, markdown: bool) -> str:
    headers = ["loss", "dtype", "N", "thr", "stream GB/s", "losskit[out]", "%BW", "losskit", "%BW",
               "best peer", "time", "%BW", "lk[out] vs best"]
    rows = []
    flagged = [False]
    prev = None
    for c in _sorted_cases(results):
        key = (c["loss"], c["dtype"], c["threads"])
        if prev is not None and key != prev:
            rows.append(None)
        prev = key
        im = c["impls"]

        def cell(name):
            rec = im.get(name)
            if rec is None:
                return ["", ""]
            if rec["status"] != "ok" or "median_s" not in rec:
                return [{"wrong": "WRONG", "error": "ERROR", "unavailable": "n/a"}.get(rec["status"], rec["status"]), ""]
            return [fmt_time(rec["median_s"]), fmt_pct(rec.get("pct_bw"))]

        best = c.get("best_peer")
        bw = fmt_gbps((c.get("stream") or {}).get("gbps"))
        if _bw_disturbed(c):
            bw += " !"
            flagged[0] = True
        rows.append([c["loss"], c["dtype"], _case_n(c), c["threads"], bw]
                    + cell("losskit[out]") + cell("losskit")
                    + ([best] + cell(best) if best else ["-", "", ""])
                    + [fmt_ratio(im.get("losskit[out]", {}).get("vs_best_peer"))])
    text = table(headers, rows, "llrrrrrrrlrrr", markdown)
    if flagged[0]:
        text += ("\n\n! = some contender beat the bandwidth kernel by more than 10% in this case: the reference "
                 "was disturbed (other load, or threads descheduled); its %BW figures are not meaningful.")
    return text


def _problems(results: dict, markdown: bool) -> str:
    all_cases = results.get("overhead", []) + results.get("cases", [])
    per_loss = {}
    for c in all_cases:
        per_loss[c["loss"]] = per_loss.get(c["loss"], 0) + 1
    groups: dict = {}
    for c in all_cases:
        for name, rec in c["impls"].items():
            if rec["status"] == "ok":
                continue
            g = groups.setdefault((name, rec["status"], rec.get("message", "")), {"losses": {}, "where": []})
            g["losses"][c["loss"]] = g["losses"].get(c["loss"], 0) + 1
            g["where"].append(f"{c['loss']} {c['dtype']} N={_case_n(c)} t={c['threads']}")
    if not groups:
        return ""
    rows = []
    for (name, status, msg), g in groups.items():
        if all(cnt == per_loss[l] for l, cnt in g["losses"].items()):
            where = ", ".join(g["losses"]) + ": all cases"
        else:
            where = ", ".join(g["where"])
        rows.append([name, status, where if markdown else _short(where, 70), msg])
    return table(["impl", "status", "where", "message"], rows, "llll", markdown)


def _thread_consistency(results: dict, markdown: bool) -> str:
    """SPEC section 7: results are bitwise identical whatever the thread count."""
    seen: dict = {}
    for c in results.get("overhead", []) + results.get("cases", []):
        for name, rec in c["impls"].items():
            if rec.get("family") != "losskit" or "value" not in rec:
                continue
            key = (name, c["loss"], c["dtype"], _case_n(c))
            seen.setdefault(key, {})[c["threads"]] = (rec["value"], rec.get("grad_crc32"))
    rows = []
    for (name, loss, dtype, n), by_t in seen.items():
        if len(set(by_t.values())) > 1:
            detail = "; ".join(f"t={t}: value {v!r}, grad crc32 {crc}" for t, (v, crc) in sorted(by_t.items()))
            rows.append([name, loss, dtype, n, detail])
    if not rows:
        return ""
    return table(["impl", "loss", "dtype", "N", "per thread count"], rows, "lllrl", markdown)


def _accuracy_notes(results: dict, markdown: bool) -> str:
    worst: dict = {}
    for c in results.get("cases", []):
        lim = ACCURACY_NOTE.get(c["dtype"], 0)
        for name, rec in c["impls"].items():
            e = rec.get("value_err")
            if name == "stream" or e is None or not _finite(e) or e <= lim:
                continue
            k = (name, c["loss"], c["dtype"])
            if k not in worst or e > worst[k][0]:
                worst[k] = (e, _case_n(c))
    if not worst:
        return ""
    rows = [[n, l, d, fmt_err(e), N] for (n, l, d), (e, N) in sorted(worst.items())]
    note = ("value errors above %g (float32) / %g (float64) relative: within the correctness gate, "
            "but worth knowing (float32 dot products accumulate in float32)" % (ACCURACY_NOTE["float32"], ACCURACY_NOTE["float64"]))
    return note + "\n\n" + table(["impl", "loss", "dtype", "worst value err", "at N"], rows, "lllrr", markdown)


# ------------------------------------------------------------------------------- JSON

def jsonable(obj):
    """NaN / inf -> None, tuples -> lists, NumPy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    if isinstance(obj, float) or hasattr(obj, "dtype"):
        if hasattr(obj, "dtype") and getattr(obj, "dtype").kind in "iu":
            return int(obj)
        return f if math.isfinite(f) else None
    return str(obj)


__all__ = ["render", "jsonable", "table", "PEERS", "IMPLS"]
