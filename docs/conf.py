"""Sphinx configuration of losskit's documentation.

Build: ``pip install '.[docs]' && sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import losskit

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DOCS, "_ext"))

project = "losskit"
copyright = "the losskit developers"
release = version = losskit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "losskit_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "sg_execution_times.rst"]
templates_path = ["_templates"]
myst_heading_anchors = 3
highlight_language = "none"  # blocks without a language are trees, tables and output
# a glob of the toctrees may match nothing (user-guide pages and API modules that arrive later)
suppress_warnings = ["toc.empty_glob"]

# ---- API reference -------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
add_module_names = False

# ---- gallery -------------------------------------------------------------------------------
# Every example runs in the docs build and its figures are rendered, except those whose
# optional dependency is not installed (they are shown, not run): the prefix of an example's
# file name names the library it needs.
_NEEDS = {"torch_": "torch", "jax_": "jax", "dask_": "distributed"}
_skipped = [prefix for prefix, module in _NEEDS.items()
            if importlib.util.find_spec(module) is None]
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(DOCS, os.pardir, "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": ("/(?!" + "|".join(_skipped) + ")" if _skipped else "/") + r"[^/]*\.py$",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_argv": "losskit_docs.gallery_argv",
    "within_subsection_order": "FileNameSortKey",
    "show_signature": False,
    "min_reported_time": 1,
}

# ---- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"losskit {version}"
html_static_path = ["_static"]
html_css_files = ["losskit.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": [], "changelog": [], "benchmarks": []}
html_show_sourcelink = False
# MathJax from its CDN, or from the path or address in LOSSKIT_DOCS_MATHJAX (a copy for
# reading offline; a relative path is under _static/).
if os.environ.get("LOSSKIT_DOCS_MATHJAX"):
    mathjax_path = os.environ["LOSSKIT_DOCS_MATHJAX"]


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out the members a class inherits from another library (scikit-learn's
    ``score`` and metadata routing, PyTorch's ``Module`` methods, ...): they are that
    library's API, and their docstrings refer to its own pages."""
    top = (getattr(obj, "__module__", None) or "").split(".")[0]
    if top not in ("", "losskit", "builtins"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
