"""The documentation's wiring (static checks; ``make docs`` builds and runs it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .test_layout import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _examples_text() -> str:
    texts = [p.read_text() for p in sorted((DOCS / "examples").glob("plot_*.py"))]
    for nb in sorted((DOCS / "notebooks").glob("*.ipynb")):
        texts += ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    return "\n".join(texts)


def test_every_public_function_runs_in_a_gallery_example_or_the_notebook() -> None:
    text = _examples_text()
    missing = [f for f in FUNCTIONS if not re.search(rf"srprint\.{f}\(", text)]
    assert not missing, f"no gallery example or notebook cell calls {missing}"


def test_gallery_has_four_to_six_examples_and_a_guide_page_per_question() -> None:
    assert 4 <= len(list((DOCS / "examples").glob("plot_*.py"))) <= 6
    for q in ("attribute", "trace", "parse", "verify", "lineage", "study"):
        assert (DOCS / "guide" / f"{q}.rst").is_file(), q


def test_the_build_is_offline_and_runs_in_make_test() -> None:
    conf = (DOCS / "conf.py").read_text()
    assert "sphinx.ext.intersphinx" not in conf and "abort_on_example_error" in conf
    make = (ROOT / "Makefile").read_text()
    test_rule = make[make.index("\ntest:"):make.index("\nlint:")]
    assert re.search(r"^test: .*\bdocs\b", make, re.M) or "$(MAKE) --no-print-directory docs" in test_rule
    docs_rule = make[make.index("\ndocs:"):make.index("\ntest:")]
    assert "-W" in docs_rule and "--doctest-modules" in docs_rule and "run_notebook.py" in docs_rule
