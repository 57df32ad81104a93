"""Run a study preset stage by stage; a finished stage is recorded and never redone.

Each capability contributes one ``demo_stage(ctx)`` function per preset that reads and writes under
``ctx.out`` and returns a summary dict. After a stage finishes, its summary is written atomically to
``<out>/stages/<name>.json``; a rerun (after a kill or Ctrl-C) loads it and skips the stage, so a
study resumes where it stopped. The stages themselves also reuse their cached artifacts.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import resolve_device, srprint_home
from ..errors import SrprintError
from ..io.arrays import read_json_or_none
from ..io.atomic import atomic_write_json
from ..progress import console
from ..report.collect import SUMMARY_FILE
from ..report.html import write_report

StageFn = Callable[[Any], dict[str, Any]]
# (summary key, "module:function" or the function); later stages read earlier summaries by key
PRESETS: dict[str, tuple[tuple[str, str | StageFn], ...]] = {
    "demo": (
        ("zoo", "srprint.zoo.demo:demo_stage"),
        ("render", "srprint.render.demo:demo_stage"),
        ("attribution", "srprint.attribution.demo:demo_stage"),
        ("trace", "srprint.attribution.trace_demo:demo_stage"),
        ("verification", "srprint.verification.demo:demo_stage"),
    ),
}
# presets the issue asks for that need stage functions not written yet, and what they need
NOT_YET = {
    "mini": "the mini preset's stages are not built yet; run the bench/ scripts on the mini zoo",
    "paper": "the paper preset's stages are not built yet (it also needs DIV2K under $SRPRINT_SHARED/data)",
}
STAGES_DIR = "stages"
TABLES_DIR = "tables"
RECIPE_FILE = "demo_recipe.json"


@dataclass
class StudyContext:
    """What every stage of a study receives: its output folder, device, zoo and earlier summaries.

    A stage writes its result tables to ``tables_dir`` (``<out>/tables/<name>.json`` and ``.md``,
    through :func:`srprint.study.tables.write_table`, the same files as ``bench/results/<name>.*``),
    and reads what earlier stages returned from ``results`` (e.g. ``results["render"]["render"]``).
    """

    out: Path
    device: str
    zoo_dir: Path
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def tables_dir(self) -> Path:
        return self.out / TABLES_DIR


DemoContext = StudyContext  # the demo stages' name for it


def _load_stage(spec: str | StageFn) -> StageFn | None:
    if callable(spec):
        return spec
    mod_name, fn_name = spec.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name == mod_name:
            return None
        raise
    return getattr(mod, fn_name, None)


def retire_stale(folder: Path, recipe: str) -> None:
    """Move aside a study folder made with another training recipe, so no stale model or render mixes in.

    Models keep their ids when the recipe changes, and cached stages skip what exists, so outputs of
    the old models would be reused. The old folder is renamed, never deleted.
    """
    marker = folder / RECIPE_FILE
    if folder.is_dir() and any(folder.iterdir()):
        record = read_json_or_none(marker)
        found = record.get("train_key") if isinstance(record, dict) else None
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


def _finished(out: Path, name: str) -> dict[str, Any] | None:
    data = read_json_or_none(out / STAGES_DIR / f"{name}.json")  # None: not run, or cut short by a kill
    return data if isinstance(data, dict) else None


def run_study(preset: str = "demo", *, out: str | Path | None = None, device: str = "auto",
              skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run every stage of ``preset`` not finished before, then write the report.

    Parameters
    ----------
    preset : str
        ``demo`` (scikit-image's bundled photos, no shared data).
    out : str or Path, optional
        The study folder (default ``$SRPRINT_HOME/<preset>``).
    device : str
        Torch device (``auto``: CUDA when available).
    skip : tuple of str
        Stages not to run (they show as "not run" in the report).

    Returns
    -------
    dict
        Every stage's summary by name, plus ``total_seconds`` and ``report``.

    Raises
    ------
    SrprintError
        For an unknown or not yet available preset, or an unknown stage in ``skip``, before anything
        starts.
    """
    if preset in NOT_YET:
        raise SrprintError(f"study preset {preset!r}: {NOT_YET[preset]}")
    if preset not in PRESETS:
        raise SrprintError(f"unknown study preset {preset!r}; known: {', '.join([*PRESETS, *NOT_YET])}")
    stages = PRESETS[preset]
    unknown = set(skip) - {name for name, _ in stages}
    if unknown:
        raise SrprintError(f"unknown stage(s) to skip: {', '.join(sorted(unknown))}; "
                           f"the {preset} stages are {', '.join(n for n, _ in stages)}")
    from ..zoo.api import preset_train_config

    out = Path(out) if out else srprint_home() / preset
    zoo_dir = srprint_home() / "zoos" / preset
    recipe = preset_train_config(preset).key()
    for folder in (zoo_dir, out):
        retire_stale(folder, recipe)
    ctx = DemoContext(out=out, device=resolve_device(device), zoo_dir=zoo_dir)
    t0 = time.perf_counter()
    for name, spec in stages:
        done = _finished(out, name)
        if done is not None:
            console.print(f"{preset}: {name} finished before ({done.get('seconds', '?')} s); skipped",
                          highlight=False)
            ctx.results[name] = done
            continue
        fn = None if name in skip else _load_stage(spec)  # a skipped stage's module is not even imported
        if fn is None:
            continue
        console.rule(f"[bold]{preset}: {name}")
        ts = time.perf_counter()
        result = fn(ctx)
        result["seconds"] = round(time.perf_counter() - ts, 1)
        ctx.results[name] = result
        atomic_write_json(out / STAGES_DIR / f"{name}.json", result)
    ctx.results["total_seconds"] = round(time.perf_counter() - t0, 1)
    # the summaries feed the report (verdicts and traces live nowhere else); the report is the
    # study's own output, rewritten with every run
    atomic_write_json(out / SUMMARY_FILE, ctx.results)
    report = write_report(out, out / "report.html", zoo=zoo_dir, title=f"srprint {preset} study")
    ctx.results["report"] = str(report)
    console.rule(f"[bold green]{preset} finished in {ctx.results['total_seconds']:.0f}s; outputs in {out}")
    console.print(f"report: {report}", highlight=False)
    return ctx.results
