"""``srprint study --preset demo|mini|paper [-o DIR] [--home DIR] [--skip STAGE...]``: the study, then its report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ..cli_common import DeviceOpt, JsonOpt, executor_options, printed_as_json

PRESET_HELP = ("demo (bundled photos, ~8 min) | mini (mini zoo + shared data: the bench/results tables, hours) "
               "| paper (needs DIV2K, Flickr2K)")


@executor_options
def study_command(
    preset: str = typer.Option("demo", "--preset", help=PRESET_HELP),
    out: Path | None = typer.Option(None, "-o", "--out", help="Study folder (default $SRPRINT_HOME/<preset>)"),
    home: Path | None = typer.Option(None, "--home", help="Cache of zoos, renders and runs (sets $SRPRINT_HOME)"),
    skip: list[str] = typer.Option(None, "--skip", help="A stage not to run (repeatable), e.g. --skip trace"),
    wait: bool = typer.Option(False, "--wait", help="If another study is running on this folder or on this "
                              "preset of this home, wait for it to finish (default: stop at once)"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
    run_on: dict[str, Any] = None,  # type: ignore[assignment]  (from @executor_options)
) -> None:
    """Run every stage of a study in order (finished stages are skipped on a rerun), then write its report."""
    from .run import run_study

    if home is not None:
        # every stage and library function finds its caches through $SRPRINT_HOME
        os.environ["SRPRINT_HOME"] = str(home.expanduser().resolve())
    summary = run_study(preset, out=out, device=device, skip=tuple(skip or ()), run_on=run_on, wait=wait)
    printed_as_json(summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("study")(study_command)
