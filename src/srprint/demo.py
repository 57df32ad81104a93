"""``srprint demo``: the end-to-end job on scikit-image's bundled photographs.

Stages run in order; each capability contributes one ``demo_stage(ctx)`` function (listed in
``STAGES``) that reads/writes under ``ctx.out`` and returns a summary dict. Every stage reuses
cached artifacts, so a second run is fast.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import resolve_device, srprint_home
from .io.atomic import atomic_write_json
from .progress import console
from .report.collect import SUMMARY_FILE
from .report.html import write_report

# (summary key, "module:function"); later stages read earlier summaries from ctx.results by key
STAGES = (
    ("zoo", "srprint.zoo.demo:demo_stage"),
    ("render", "srprint.render.demo:demo_stage"),
    ("attribution", "srprint.attribution.demo:demo_stage"),
    ("trace", "srprint.attribution.trace_demo:demo_stage"),
    ("verification", "srprint.verification.demo:demo_stage"),
)


@dataclass
class DemoContext:
    out: Path
    device: str
    zoo_dir: Path
    results: dict[str, Any] = field(default_factory=dict)


def _load_stage(spec: str):  # noqa: ANN202
    mod_name, fn_name = spec.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name == mod_name:
            return None
        raise
    return getattr(mod, fn_name, None)


RECIPE_FILE = "demo_recipe.json"


def _retire_stale(folder: Path, recipe: str) -> None:
    """Move aside a demo folder made with another training recipe, so no stale model or render mixes in.

    Models keep their ids when the recipe changes, and cached stages skip what exists, so outputs of
    the old models would be reused. The old folder is renamed, never deleted.
    """
    import json

    marker = folder / RECIPE_FILE
    if folder.is_dir() and any(folder.iterdir()):
        try:
            found = json.loads(marker.read_text()).get("train_key")
        except (OSError, ValueError, AttributeError):
            found = None
        if found != recipe:
            aside = folder.with_name(f"{folder.name}.recipe-{found or 'old'}")
            n = 1
            while aside.exists():
                n += 1
                aside = folder.with_name(f"{folder.name}.recipe-{found or 'old'}-{n}")
            folder.rename(aside)
            console.print(f"{folder} was made with another demo training recipe; moved it to {aside}",
                          highlight=False)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(marker, {"train_key": recipe})


def run_demo(out: Path | None = None, device: str = "auto") -> dict[str, Any]:
    """Run every available demo stage; returns the merged summary."""
    from .zoo.api import preset_train_config

    out = Path(out) if out else srprint_home() / "demo"
    zoo_dir = srprint_home() / "zoos" / "demo"
    recipe = preset_train_config("demo").key()
    for folder in (zoo_dir, out):
        _retire_stale(folder, recipe)
    ctx = DemoContext(out=out, device=resolve_device(device), zoo_dir=zoo_dir)
    t0 = time.perf_counter()
    for name, spec in STAGES:
        fn = _load_stage(spec)
        if fn is None:
            continue
        console.rule(f"[bold]demo: {name}")
        ts = time.perf_counter()
        ctx.results[name] = fn(ctx)
        ctx.results[name]["seconds"] = round(time.perf_counter() - ts, 1)
    ctx.results["total_seconds"] = round(time.perf_counter() - t0, 1)
    # the summaries feed the report (verdicts and traces live nowhere else); the report is rewritten
    # with every run because it is the demo's own output
    atomic_write_json(out / SUMMARY_FILE, ctx.results)
    report = write_report(out, out / "report.html", zoo=ctx.zoo_dir, title="srprint demo study")
    ctx.results["report"] = str(report)
    console.rule(f"[bold green]demo finished in {ctx.results['total_seconds']:.0f}s; outputs in {out}")
    console.print(f"report: {report}", highlight=False)
    return ctx.results
