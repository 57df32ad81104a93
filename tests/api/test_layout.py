"""The public API's shape: exports, NumPy docstrings, one device rule, thin CLI modules (no model is run)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import srprint

SRC = Path(srprint.__file__).resolve().parent
FUNCTIONS = ("load_zoo", "load_model", "import_checkpoint", "super_resolve", "render", "attribute", "trace",
             "parse", "verify", "lineage", "study", "report")
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
    importlib.import_module("srprint.lineage.query")
    for name in ("render", "study", "report", "lineage"):
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


def test_auto_device_without_a_gpu_driver_is_cpu_without_importing_torch() -> None:
    code = ("import sys; from srprint.config import resolve_device, gpu_device_nodes; "
            "d = resolve_device('auto'); print(d, gpu_device_nodes(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    device, nodes, torch_imported = out[0], out[1] == "True", out[2] == "True"
    if nodes:  # a GPU driver's device file: torch decides, as before
        assert torch_imported and device in ("cpu", "cuda")
    else:
        assert (device, torch_imported) == ("cpu", False)


def test_gpu_device_nodes_sees_a_driver_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import srprint.config as config

    monkeypatch.setattr(config.sys, "platform", "linux")
    monkeypatch.setattr(config.os.path, "exists", lambda p: p == "/dev/nvidiactl")
    assert config.gpu_device_nodes()
    monkeypatch.setattr(config.os.path, "exists", lambda p: False)
    assert not config.gpu_device_nodes()
    monkeypatch.setattr(config.sys, "platform", "darwin")
    assert config.gpu_device_nodes()  # elsewhere torch is asked


def _module_graph() -> dict[str, set[str]]:
    """srprint module -> the srprint modules it imports anywhere (functions included, TYPE_CHECKING not)."""
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else (node.module or "")
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    edges[mod].add(t)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


# cycles allowed for now: none (issue 30 broke the last two); a new cycle fails the test
KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycle_including_function_level_imports() -> None:
    cycles = _cycles(_module_graph())
    assert [c for c in cycles if c not in KNOWN_CYCLES] == []
    assert ["srprint.report.collect", "srprint.report.sections_results"] not in cycles


def _layers() -> dict[str, int]:
    """Package -> its layer, read from ARCHITECTURE.md's "Layer order" list (continuation lines included)."""
    text = (SRC.parents[1] / "ARCHITECTURE.md").read_text()
    section = text[text.index("## Layer order"):]
    section = section[:section.index("\n## ", 1)]
    layers: dict[str, int] = {}
    level = None
    for line in section.splitlines():
        m = re.match(r"(\d+)\. ", line)
        if m:
            level = int(m.group(1))
        elif not line.startswith("   "):
            level = None
        if level is not None:
            layers |= {name: level for name in re.findall(r"`(\w+)`", line) if not name.startswith("__")}
    layers["srprint"] = 1  # the package root (``__version__``, the lazy exports)
    return layers


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _upward(edges: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """Imports from a package to one of a higher layer or another package of its own layer (bottom excepted)."""
    bad = []
    for a, targets in sorted(edges.items()):
        for b in sorted(targets):
            pa, pb = _package(a), _package(b)
            if pa != pb and (layers[pb] > layers[pa] or layers[pb] == layers[pa] > 1):
                bad.append(f"{a} (layer {layers[pa]}) -> {b} (layer {layers[pb]})")
    return bad


def test_architecture_layer_order_names_every_package() -> None:
    layers = _layers()
    tops = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in SRC.glob("*/__init__.py")}
    assert tops - set(layers) == set(), "place these in ARCHITECTURE.md's layer order"
    assert set(layers) - tops - {"srprint"} == set(), "ARCHITECTURE.md's layer order names no such package"


def test_no_upward_arrow_between_the_layers() -> None:
    layers = _layers()
    assert _upward({"srprint.zoo.study": {"srprint.study.tables"}}, layers)  # the check sees an upward arrow
    assert _upward({"srprint.attribution.x": {"srprint.parsing.y"}}, layers)  # and one across a layer
    assert _upward(_module_graph(), layers) == []
