"""The documentation against the package: the API reference lists every public name, every
public class and function has an Examples section and its examples run (as doctests), and the
examples the docs build does not run (the out-of-core Dask fit) and the README's first example
run here.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys

import numpy as np
import pytest

import losskit

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def _load_docs_extension():
    path = os.path.join(ROOT, "docs", "_ext", "losskit_docs.py")
    spec = importlib.util.spec_from_file_location("losskit_docs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs = _load_docs_extension()
# The benchmark harness ships in the package to serve `losskit bench`; it is not an API.
# losskit.kernels holds only Cython declarations (cimported; the Cython user guide documents it).
NOT_API = {"losskit.bench", "losskit.kernels"}


def _import(name):
    """The module, or a skip when its optional dependencies are missing here."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} does not import here: {exc}")


def test_every_public_module_is_in_the_reference():
    # (the folders of the package only: an editable install adds the repository root)
    found = {f"losskit.{m.name}" for m in pkgutil.iter_modules(losskit.__path__)
             if not m.name.startswith("_") and m.name != "__main__"
             and os.path.basename(m.module_finder.path) == "losskit"}
    missing = sorted(found - set(docs.API_MODULES) - NOT_API)
    assert not missing, f"public modules missing from API_MODULES in docs/_ext: {missing}"


@pytest.mark.parametrize("name", list(docs.API_MODULES))
def test_reference_lists_every_public_name(name):
    module = _import(name)
    public = set(docs.public_names(module))
    page = docs.reference_page(name)
    if os.path.exists(page):
        documented = docs.documented_names(page)
    else:  # the page is made from the module when the site is built
        text = docs.auto_reference_text(name, docs.API_MODULES[name], module)
        documented = docs.documented_names_in(text)
    assert public - documented == set(), f"{name}: not in the reference: {sorted(public - documented)}"
    assert documented - public == set(), f"{name}: in the reference but not public: {sorted(documented - public)}"


def _public_objects(name):
    module = _import(name)
    for attr in docs.public_names(module):
        obj = getattr(module, attr)
        if inspect.isclass(obj) or callable(obj):
            yield f"{name}.{attr}", obj


@pytest.mark.parametrize("name", list(docs.API_MODULES))
def test_every_public_name_has_an_examples_section(name):
    # (a name losskit re-exports from another library, as scikit-learn's ConvergenceWarning
    # when scikit-learn is installed, keeps that library's docstring)
    without = [qualname for qualname, obj in _public_objects(name)
               if getattr(obj, "__module__", "losskit").split(".")[0] == "losskit"
               and not re.search(r"^Examples\n--------\n", inspect.getdoc(obj) or "", re.M)]
    assert not without, f"no Examples section: {without}"


def _doctests(name):
    """The doctests of a module's docstring and of its public objects (and their methods)."""
    module = _import(name)
    finder = doctest.DocTestFinder()
    tests = finder.find(module, name, module=False)[:1] if module.__doc__ else []
    for qualname, obj in _public_objects(name):
        # module=False: no check of where each object was defined (the loss classes are made
        # in losskit._base, the functional forms at import)
        tests += [t for t in finder.find(obj, qualname, module=False,
                                         globs={"np": np, "losskit": losskit})]
    return [t for t in tests if t.examples]


@pytest.mark.parametrize("name", list(docs.API_MODULES))
def test_docstring_examples_run(name):
    tests = _doctests(name)
    assert tests, f"{name} has no doctests"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    for test in tests:
        result = runner.run(test, out=failures.append)
    del result
    assert not failures, "".join(failures)


def test_readme_first_example_runs():
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)


def test_dask_out_of_core_example_runs(tmp_path):
    pytest.importorskip("distributed")
    example = os.path.join(ROOT, "examples", "dask_out_of_core.py")
    r = subprocess.run([sys.executable, "-P", example, "--rows", "200000", "--chunk-rows",
                        "50000", "--dir", str(tmp_path / "chunks")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    error = float(re.search(r"largest coefficient error ([0-9.]+)", r.stdout).group(1))
    assert error < 0.05, r.stdout
