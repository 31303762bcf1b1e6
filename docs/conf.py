"""Sphinx configuration of the sgdsde documentation (``make docs`` → docs/_build/html)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the sgdsde of this checkout
sys.path.insert(0, str(DOCS / "_ext"))

import sgdsde  # noqa: E402

project = "sgdsde"
author = "the sgdsde developers"
copyright = "2026, the sgdsde developers"  # noqa: A001
version = release = sgdsde.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sgdsde_pages",
    "plain_bars",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery", "_ext", "README.md"]

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc documents the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"sgdsde {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list[str] = []
