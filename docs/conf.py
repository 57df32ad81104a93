"""Sphinx configuration of srprint's documentation (built offline, warnings as errors: ``make docs``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # docs/_demo.py: the demo zoo the gallery runs on
os.environ.setdefault("OMP_NUM_THREADS", "1")  # two threaded torch processes on 2 cores spin-wait
os.environ.setdefault("SRPRINT_QUIET", "1")

project = "srprint"
author = "srprint developers"
copyright = "srprint developers"  # noqa: A001
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# offline: no intersphinx, no remote images, no analytics; the theme is Sphinx's own
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build", "notebooks/*.ipynb_checkpoints", "**/GALLERY_HEADER.rst"]
autosummary_generate = True
autodoc_typehints = "none"  # the NumPy docstrings carry the types
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# every documented function must document each of its parameters and what it returns
numpydoc_validation_checks = {"PR01", "PR02", "RT01"}
# results are dataclasses documented by Attributes (their fields), not by constructor Parameters
numpydoc_validation_exclude = {r"^srprint\.api\.\w+\.[A-Z]\w*$", r"\.to_dict$", r"\.to_json$"}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every example runs in the build
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "remove_config_comments": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
}
