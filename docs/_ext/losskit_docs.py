"""Pages of the documentation that are made from losskit itself when the site is built.

- The loss catalogue: for every loss of the registry, its summary and formula from its
  definition, and (for the losses with a curve over one score) the figure that
  ``losskit plot`` draws: the loss, its derivative and the density exp(-loss).
- A short benchmark run's plot (``losskit bench --plot``) for the benchmarks page.
- The API reference of the public modules listed in :data:`API_MODULES` that have no page of
  their own in ``docs/reference/`` and import here (the optional modules: each has its
  reference as soon as it exists and its dependencies are installed).

:data:`API_MODULES` is the one list of public modules; ``tests/test_docs.py`` checks that
every public name of each is in the reference.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import re
from typing import Any

#: Every public module of losskit, in the order of the API reference, with its page title.
API_MODULES: dict[str, str] = {
    "losskit": "Losses, registry and utilities",
    "losskit.optim": "Optimizers and schedules",
    "losskit.functional": "Functional interface",
    "losskit.gbdt": "Gradient boosting objectives",
    "losskit.dask": "Dask arrays",
    "losskit.torch": "PyTorch",
    "losskit.jax": "JAX",
}

DOCS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = os.path.join(DOCS, "generated")  # made by every build, not committed
AUTO_REFERENCE = os.path.join(DOCS, "reference", "auto")  # likewise


def public_names(module: Any) -> list[str]:
    """The public names of a module: its ``__all__`` without the submodules."""
    return [n for n in module.__all__ if not isinstance(getattr(module, n), type(os))]


def reference_page(module_name: str) -> str:
    """The source file of a module's hand-written reference page (which may not exist)."""
    short = module_name.split(".")[-1]
    return os.path.join(DOCS, "reference", f"{short}.rst")


def documented_names(path: str) -> set[str]:
    """The names an autosummary or autodoc directive of the page at ``path`` documents."""
    with open(path) as f:
        return documented_names_in(f.read())


def documented_names_in(text: str) -> set[str]:
    """The names an autosummary or autodoc directive of reStructuredText ``text`` documents."""
    names: set[str] = set()
    for block in re.finditer(r"^\.\. autosummary::\n((?:[ \t]+.*\n|\n)*)", text, re.M):
        for line in block.group(1).splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                names.add(line.split(".")[-1])
    for m in re.finditer(r"^\.\. auto(?:function|class|data)::\s+(\S+)", text, re.M):
        names.add(m.group(1).split(".")[-1])
    return names


def _write_if_changed(path: str, text: str) -> None:
    """Rewrite only what changed, so that an incremental build does not redo every page."""
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _title(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def auto_reference_text(name: str, title: str, module: Any) -> str:
    """The reference page of a module made from its docstring and ``__all__``."""
    short = name.split(".")[-1]
    entries = "\n".join(f"   {n}" for n in public_names(module))
    return (f".. _api-{short}:\n\n" + _title(f"{name}: {title}", "=") + "\n"
            f".. automodule:: {name}\n   :no-members:\n\n"
            f".. currentmodule:: {name}\n\n"
            f".. autosummary::\n   :toctree: ../../generated/\n\n{entries}\n")


def write_auto_reference() -> list[str]:
    """The reference page of each importable public module without a hand-written page."""
    written = []
    os.makedirs(AUTO_REFERENCE, exist_ok=True)
    for name, title in API_MODULES.items():
        short = name.split(".")[-1]
        target = os.path.join(AUTO_REFERENCE, f"{short}.rst")
        if os.path.exists(reference_page(name)):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional module whose dependencies are missing here
            if os.path.exists(target):
                os.remove(target)
            continue
        _write_if_changed(target, auto_reference_text(name, title, module))
        written.append(target)
    for stale in os.listdir(AUTO_REFERENCE):
        if os.path.join(AUTO_REFERENCE, stale) not in written:
            os.remove(os.path.join(AUTO_REFERENCE, stale))
    return written


def _indent(text: str, by: str = "   ") -> str:
    return "\n".join(by + line if line else "" for line in text.splitlines())


def write_loss_catalog() -> None:
    """``generated/loss_catalog.rst.inc`` and its figures (``generated/loss_plots/*.png``)."""
    import losskit
    from losskit import _base, _catalog, _cli

    plots = os.path.join(GENERATED, "loss_plots")
    os.makedirs(plots, exist_ok=True)
    sections = []
    for name in losskit.available_losses():
        definition = _base.DEFINITIONS.get(name)
        cls = _base._REGISTRY[name]
        summary = (definition or {}).get("summary") or (cls.__doc__ or "").strip().split("\n\n")[0]
        math = (definition or {}).get("math", "")
        section = [f".. _loss-{name}:", "", _title(f"{name}", "-"),
                   f":class:`losskit.{cls.__name__}`. " + " ".join(summary.split()), ""]
        if math:
            section += [".. math::", "", _indent(math), ""]
        png = os.path.join(plots, f"{name}.png")
        try:
            _catalog.curve(_catalog.make_loss(name, "sum"), [0.0])
        except (ValueError, TypeError) as exc:  # inputs off the real line, or rows of vectors
            section += [f"No plot: {exc}.", ""]
        else:
            if not os.path.exists(png):
                if _cli.main(["plot", name, "-o", png]) != 0:
                    raise RuntimeError(f"losskit plot {name} failed")
            section += [f".. image:: /generated/loss_plots/{name}.png",
                        f"   :alt: the {name} loss, its derivative and its density", ""]
        sections.append("\n".join(section))
    _write_if_changed(os.path.join(GENERATED, "loss_catalog.rst.inc"), "\n".join(sections))


def write_bench_plot() -> None:
    """``generated/bench_quick.png``: a short ``losskit bench`` run on the building machine
    (three workloads, losskit against NumPy and the bandwidth kernel, about 20 s)."""
    import subprocess
    import sys

    png = os.path.join(GENERATED, "bench_quick.png")
    if os.path.exists(png):
        return
    os.makedirs(GENERATED, exist_ok=True)
    subprocess.run([sys.executable, "-m", "losskit", "bench", "--workloads", "mse,huber,adam",
                    "--impls", "losskit,numpy", "--dtypes", "float32", "--sizes", "1e2,1e4,1e6",
                    "--tables", "sizes", "--plot", png],
                   check=True, stdout=subprocess.DEVNULL, cwd=GENERATED)


#: The user guide's pages in reading order; other pages of docs/user_guide/ follow, sorted.
USER_GUIDE_ORDER = ["losses", "robust_regression", "optimizers", "estimators", "boosting",
                    "torch", "jax", "cython", "cpp", "dask", "determinism", "accuracy"]


def _toctree(entries: list[str], maxdepth: int) -> str:
    return (f".. toctree::\n   :maxdepth: {maxdepth}\n\n"
            + "".join(f"   {e}\n" for e in entries))


def write_toctrees() -> None:
    """The toctrees of the user guide and of the API reference, over the pages present."""
    folder = os.path.join(DOCS, "user_guide")
    pages = {os.path.splitext(f)[0] for f in os.listdir(folder)
             if os.path.splitext(f)[1] in (".rst", ".md")}
    ordered = [p for p in USER_GUIDE_ORDER if p in pages] + sorted(pages - set(USER_GUIDE_ORDER))
    _write_if_changed(os.path.join(GENERATED, "user_guide_toctree.rst.inc"),
                      _toctree([f"user_guide/{p}" for p in ordered], 2))
    entries = []
    for name in API_MODULES:
        short = name.split(".")[-1]
        if os.path.exists(reference_page(name)):
            entries.append(short)
        elif os.path.exists(os.path.join(AUTO_REFERENCE, f"{short}.rst")):
            entries.append(f"auto/{short}")
    _write_if_changed(os.path.join(GENERATED, "reference_toctree.rst.inc"), _toctree(entries, 1))


def gallery_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """The command-line arguments of an example when the docs build runs it: the comparison
    with scikit-learn times each fit once instead of five times; the out-of-core fit writes and
    fits 200,000 rows in 4 chunks instead of 10 million (the same code path: chunks on disk,
    two worker processes)."""
    if script_vars["src_file"].endswith("compare_sklearn.py"):
        return ["--repeats", "1"]
    if script_vars["src_file"].endswith("dask_out_of_core.py"):
        chunks = os.path.join(tempfile.gettempdir(), f"losskit-docs-dask-{os.getpid()}")
        return ["--rows", "200000", "--chunk-rows", "50000", "--dir", chunks]
    return []


def _config_inited(app: Any, config: Any) -> None:
    write_auto_reference()
    write_toctrees()
    write_loss_catalog()
    write_bench_plot()


def setup(app: Any) -> dict[str, Any]:
    # the pages written here must exist before Sphinx looks for its sources (and autosummary
    # writes the stubs of the names they list): at config-inited, not builder-inited
    app.connect("config-inited", _config_inited)
    return {"parallel_read_safe": True}
