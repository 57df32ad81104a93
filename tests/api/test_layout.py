"""The public API's shape: exports, NumPy docstrings, one device rule, thin CLI modules (no model is run)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import srprint

SRC = Path(srprint.__file__).resolve().parent
FUNCTIONS = ("load_zoo", "load_model", "import_checkpoint", "super_resolve", "render", "attribute", "trace",
             "parse", "verify", "study", "report")
SECTIONS = ("Parameters", "Returns", "Raises", "Examples")


def api_function(name: str):  # noqa: ANN201
    obj = getattr(srprint, name)
    if inspect.ismodule(obj):  # render / study / report: a callable subpackage
        obj = getattr(importlib.import_module(f"srprint.{srprint._CALLABLE_PACKAGES[name]}"), name)
    return inspect.unwrap(obj)


def test_every_public_name_is_exported_and_callable() -> None:
    assert set(FUNCTIONS) <= set(srprint.__all__)
    for name in FUNCTIONS:
        assert callable(getattr(srprint, name)), name


def test_render_study_report_stay_callable_after_their_subpackages_are_imported() -> None:
    importlib.import_module("srprint.render.run")
    importlib.import_module("srprint.report.html")
    for name in ("render", "study", "report"):
        assert callable(getattr(srprint, name))


def test_every_public_function_has_a_numpy_docstring() -> None:
    for name in FUNCTIONS:
        doc = inspect.getdoc(api_function(name)) or ""
        for section in SECTIONS:
            assert f"{section}\n{'-' * len(section)}" in doc, f"srprint.{name}: no {section} section"


def test_every_public_function_takes_keyword_options_and_device_auto() -> None:
    for name in FUNCTIONS:
        sig = inspect.signature(api_function(name))
        params = list(sig.parameters.values())
        assert sig.parameters["device"].default == "auto", name
        assert sig.parameters["device"].kind is inspect.Parameter.KEYWORD_ONLY, name
        positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 2, f"srprint.{name}: options must be keyword-only"


def _calls(name: str) -> list[str]:
    """``file:enclosing functions`` of every call site of ``name`` in src/ (module-level and nested included)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None) != name:
                continue
            chain, up = [], node
            while up in parents:
                up = parents[up]
                if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                    chain.append(up.name)
            found.append(f"{path.relative_to(SRC)}:{'.'.join(reversed(chain)) or '<module>'}")
    return found


def test_resolve_device_has_exactly_one_caller() -> None:
    assert _calls("resolve_device") == ["config.py:resolves_device.wrapper"]


def test_cli_device_option_uses_the_one_rule() -> None:
    from srprint.cli_common import _resolve_device_option

    assert _resolve_device_option("cpu") == "cpu"
    assert inspect.unwrap(_resolve_device_option) is not _resolve_device_option  # decorated
