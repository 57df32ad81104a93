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

from ..config import resolves_device, srprint_home
from ..errors import SrprintError
from ..io.arrays import read_json_or_none
from ..io.atomic import atomic_write_json
from ..io.locks import exclusive_lock
from ..progress import console, heading
from ..report.collect import SUMMARY_FILE
from ..report.html import write_report

StageFn = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """One stage of a preset: its summary key, its function, and how long it took when measured.

    ``estimate_s`` is the wall time measured on 2 CPU cores (the reference machine); the study prints
    it before the stage and sums the pending ones into the time left.
    """

    name: str
    fn: str | StageFn  # "module:function", imported only when the stage runs
    estimate_s: float | None  # None: never measured here


@dataclass(frozen=True)
class Preset:
    """A study preset: its stages in order, and the data it needs before anything starts."""

    stages: tuple[Stage, ...]
    needs: tuple[tuple[str, str], ...] = ()  # (what, "shared:REL" or "home:REL" path) that must exist
    recipe_guard: bool = False  # move aside a study made with another training recipe (demo only)


_MINI_STAGES = (
    # estimates: wall times of this preset's stages on 2 idle cores (sessions 23-24: the prebuilt copy,
    # 47 imports and the quality table; 100 models + HR x 142 photos at 192 px; verification less the
    # 14 min it was suspended; parsing: the held-out table 23 min + FEN+PN and imported 67 min);
    # `published` is scaled from attribution by its share of the images.
    # The cheap stages come first, so a study stopped early has the most tables.
    Stage("zoo", "srprint.zoo.study:mini_stage", 120),
    Stage("render", "srprint.render.study:study_stage", 1200),
    Stage("verification", "srprint.verification.protocol:mini_stage", 1450),
    # verification v3's shortened protocol: not yet timed as a stage; estimated from the benchmark's item times
    # (exact edits ~0.5 s, negatives ~5 s at 1 thread, the sources' nulls once)
    Stage("verification_v3", "srprint.verification.protocol_v3_stage:mini_stage", 2100),
    Stage("trace", "srprint.attribution.trace_protocol:mini_stage", 1330),
    Stage("attribution", "srprint.attribution.protocol:mini_stage", 1060),
    Stage("published", "srprint.attribution.protocol:published_stage", 700),
    Stage("backbones", "srprint.attribution.protocol:backbones_stage", 350),
    Stage("parsing", "srprint.parsing.protocol:mini_stage", 5400),
)
PRESETS: dict[str, Preset] = {
    "demo": Preset(stages=(
        # measured: `make demo` from a fresh clone on 2 cores, nothing else running (session 23: 223 s)
        Stage("zoo", "srprint.zoo.demo:demo_stage", 135),
        Stage("render", "srprint.render.demo:demo_stage", 7),
        Stage("attribution", "srprint.attribution.demo:demo_stage", 9),
        Stage("trace", "srprint.attribution.trace_demo:demo_stage", 70),
        Stage("verification", "srprint.verification.demo:demo_stage", 4),
    ), recipe_guard=True),
    "mini": Preset(stages=_MINI_STAGES, needs=(
        ("the render corpus (BSDS500 val, Kodak24, Set5, Set14)", "shared:data/images/images.csv"),
        ("the mini zoo's training photos (BSDS500), or the prebuilt mini zoo", "shared:data/images/BSDS500"),
    )),
    # the reference study's grid: 180 paper-size models, a GPU cluster's work
    "paper": Preset(stages=(Stage("zoo", "srprint.zoo.study:paper_stage", None),
                            *_MINI_STAGES[1:]), needs=(
        ("DIV2K (800 HR training photos)", "home:datasets/div2k"),
        ("Flickr2K (2650 HR training photos)", "home:datasets/flickr2k"),
        ("the render corpus (BSDS500 val, Kodak24, Set5, Set14)", "shared:data/images/images.csv"),
    )),
}
STAGES_DIR = "stages"
TABLES_DIR = "tables"
RECIPE_FILE = "demo_recipe.json"
LOCKS_DIR = "locks"  # under $SRPRINT_HOME
STUDY_LOCK = ".study.lock"  # in the study folder (hidden: an output check ignores it)


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
    # where stages that fan out (zoo training, rendering) run: executor=, jobs= and, for Ray, address=
    run_on: dict[str, Any] = field(default_factory=dict)

    @property
    def tables_dir(self) -> Path:
        return self.out / TABLES_DIR


DemoContext = StudyContext  # the demo stages' name for it


def _load_stage(spec: str | StageFn) -> StageFn:
    if callable(spec):
        return spec
    mod_name, fn_name = spec.split(":")
    return getattr(importlib.import_module(mod_name), fn_name)


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


def missing_data(preset: str) -> list[str]:
    """What ``preset`` needs that is not there, one "what (expected at PATH)" line each."""
    from ..config import shared_data_dir

    out = []
    for what, where in PRESETS[preset].needs:
        kind, rel = where.split(":", 1)
        base = shared_data_dir().parent if kind == "shared" else srprint_home()
        path = base / rel
        if not path.exists():
            out.append(f"{what} (expected at {path})")
    return out


def check_preset(preset: str, skip: tuple[str, ...] = ()) -> Preset:
    """The preset ``preset`` after checking, before anything starts, that it can run.

    Raises
    ------
    SrprintError
        For an unknown preset, an unknown stage in ``skip``, or data the preset needs that is missing
        (one line naming each missing item and where to put it).
    """
    if preset not in PRESETS:
        raise SrprintError(f"unknown study preset {preset!r}; known: {', '.join(PRESETS)}")
    spec = PRESETS[preset]
    names = [st.name for st in spec.stages]
    unknown = set(skip) - set(names)
    if unknown:
        raise SrprintError(f"unknown stage(s) to skip: {', '.join(sorted(unknown))}; "
                           f"the {preset} stages are {', '.join(names)}")
    missing = missing_data(preset)
    if missing:
        raise SrprintError(f"study preset {preset!r} needs data that is missing: {'; '.join(missing)}")
    return spec


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def stage_banner(preset: str, index: int, stages: list[Stage]) -> str:
    """The line shown before ``stages[index]``: its estimate and the time left for it and the stages after it.

    The estimates are wall times measured on 2 CPU cores. They are not rescaled by how fast this run's
    earlier stages went: a stage resumed after a kill finishes in a fraction of its estimate, which
    says nothing about the next one.
    """
    st = stages[index]
    rest = [s.estimate_s for s in stages[index:]]
    left = None if any(r is None for r in rest) else sum(r for r in rest if r is not None)
    return (f"{preset}: {st.name} (about {_duration(st.estimate_s)}); {len(rest)} stage(s) to go, "
            f"about {_duration(left)} left (estimates measured on 2 CPU cores)")


@resolves_device
def run_study(preset: str = "demo", *, out: str | Path | None = None, device: str = "auto",
              skip: tuple[str, ...] = (), run_on: dict[str, Any] | None = None,
              wait: bool = False) -> dict[str, Any]:
    """Run every stage of ``preset`` not finished before, then write the report.

    Two studies never run at once on one study folder, nor on one preset of one home (they would
    share its zoo and caches): the second refuses at once, or waits with ``wait``.

    Parameters
    ----------
    preset : str
        ``demo`` (scikit-image's bundled photos, no shared data), ``mini`` (the 60-model mini zoo,
        the shared photos and published checkpoints: the tables of ``bench/results``), or ``paper``
        (the reference grid; needs DIV2K and Flickr2K).
    out : str or Path, optional
        The study folder (default ``$SRPRINT_HOME/<preset>``).
    device : str
        Torch device (``auto``: CUDA when available).
    skip : tuple of str
        Stages not to run (they show as "not run" in the report).
    run_on : dict, optional
        The executor of the stages that fan out (``executor``, ``jobs``, Ray's ``address``);
        default: the local pool with one job.
    wait : bool
        When another study holds this folder or this preset's home, wait for it instead of refusing.

    Returns
    -------
    dict
        Every stage's summary by name, plus ``total_seconds`` and ``report``.

    Raises
    ------
    SrprintError
        For an unknown preset, an unknown stage in ``skip``, or missing data, before anything starts.
    LockedError
        If another study holds the study folder or the preset's home and ``wait`` is False.
    """
    spec = check_preset(preset, skip)
    out = Path(out) if out else srprint_home() / preset
    zoo_dir = srprint_home() / "zoos" / preset
    hint = f"wait for it with `srprint study --preset {preset} --wait`, or use another --home / -o"
    # one study at a time per preset on a home (they share its zoo and caches), and per study folder
    with exclusive_lock(srprint_home() / LOCKS_DIR / f"study-{preset}.lock", wait=wait, hint=hint,
                        what=f"the {preset} study's zoo and caches in {srprint_home()}"):
        if spec.recipe_guard:
            from ..zoo.api import preset_train_config

            recipe = preset_train_config(preset).key()
            for folder in (zoo_dir, out):
                retire_stale(folder, recipe)
        out.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(out / STUDY_LOCK, wait=wait, hint=hint, what=f"the study folder {out}"):
            return _run_stages(preset, spec, out=out, zoo_dir=zoo_dir, device=device, skip=skip, run_on=run_on)


def _run_stages(preset: str, spec: Preset, *, out: Path, zoo_dir: Path, device: str, skip: tuple[str, ...],
                run_on: dict[str, Any] | None) -> dict[str, Any]:
    ctx = StudyContext(out=out, device=device, zoo_dir=zoo_dir, run_on=dict(run_on or {}))
    stages = list(spec.stages)
    finished = {st.name: _finished(out, st.name) for st in stages}
    t0 = time.perf_counter()
    for i, st in enumerate(stages):
        done = finished[st.name]
        if done is not None:
            console.print(f"{preset}: {st.name} finished before ({done.get('seconds', '?')} s); skipped",
                          highlight=False)
            ctx.results[st.name] = done
            continue
        if st.name in skip:
            continue
        fn = _load_stage(st.fn)  # imported only now: a skipped stage's module is never imported
        pending = [s for s in stages[i:] if s.name not in skip and finished[s.name] is None]
        heading(f"[bold]{stage_banner(preset, 0, pending)}")
        ts = time.perf_counter()
        result = fn(ctx)
        result["seconds"] = round(time.perf_counter() - ts, 1)
        ctx.results[st.name] = result
        atomic_write_json(out / STAGES_DIR / f"{st.name}.json", result)
    ctx.results["total_seconds"] = round(time.perf_counter() - t0, 1)
    # the summaries feed the report (verdicts and traces live nowhere else); the report is the
    # study's own output, rewritten with every run
    atomic_write_json(out / SUMMARY_FILE, ctx.results)
    report = write_report(out, out / "report.html", zoo=zoo_dir, title=f"srprint {preset} study")
    ctx.results["report"] = str(report)
    heading(f"[bold green]{preset} finished in {ctx.results['total_seconds']:.0f}s; outputs in {out}")
    console.print(f"report: {report}", highlight=False)
    return ctx.results
