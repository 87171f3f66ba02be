"""The PNG of a run: time per call against size, one panel per workload, log-log.

One line per contender over the size table's cases (float32 solid, float64 dashed, the
same colour; losskit's lines thicker), the bandwidth kernel in black. Workloads measured at a single size are left
out (a point says nothing about scaling; the tables have them). Needs matplotlib (imported
here only, with a file-only backend); without it the run says so and writes nothing.
"""

from __future__ import annotations

from .report import cases_of, timed


def write(results: dict, path: str) -> dict:
    """Draw the plot of a run.

    Parameters
    ----------
    results : dict
        The run, as :func:`bench.run.main` builds it.
    path : str
        The PNG to write.

    Returns
    -------
    dict
        ``path``, ``written`` (bool) and ``message`` (what was done, or why not).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return {"path": path, "written": False, "message": f"plot not written: matplotlib is not installed ({exc})"}
    threads = results["config"]["threads"]
    cases = [c for c in cases_of(results, "sizes") if c["threads"] == threads]
    panels: dict[str, list[dict]] = {}
    for c in cases:
        panels.setdefault(c["workload"], []).append(c)
    panels = {w: cs for w, cs in panels.items() if len({c["elements"] for c in cs}) > 1}
    if not panels:
        return {"path": path, "written": False, "message": "plot not written: no workload was measured at two sizes"}
    names = list(dict.fromkeys(n for cs in panels.values() for c in cs for n in c["impls"]))
    colors = {n: plt.cm.tab20(i % 20) for i, n in enumerate(n for n in names if n != "stream")}
    colors["stream"] = "black"
    losskit = {n for cs in panels.values() for c in cs for n, r in c["impls"].items() if r["family"] == "losskit"}
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (workload, cs) in zip(axes.flat, panels.items()):
        labelled: set[str] = set()
        for dtype, style in (("float32", "-"), ("float64", "--")):
            for name in names:
                points = sorted((c["elements"], c["impls"][name]["median_s"]) for c in cs
                                if c["dtype"] == dtype and timed(c["impls"].get(name)))
                if len(points) > 1:
                    ax.plot(*zip(*points), style, marker=".", color=colors[name],
                            linewidth=2.2 if name in losskit else 1.0, label=None if name in labelled else name)
                    labelled.add(name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(workload, fontsize=10)
        ax.set_xlabel("elements")
        ax.set_ylabel("seconds per call")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"losskit bench: median time per call, {threads} thread(s); float32 solid, float64 dashed",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"path": path, "written": True, "message": f"plot written to {path}"}
