"""``srprint study --preset demo [-o DIR] [--skip STAGE...]``: the whole study, then its report."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli_common import DeviceOpt, JsonOpt, printed_as_json

PRESET_HELP = ("demo (bundled photos, ~8 min) | mini (mini zoo + shared data: the bench/results tables, hours) "
               "| paper (needs DIV2K, Flickr2K)")


def study_command(
    preset: str = typer.Option("demo", "--preset", help=PRESET_HELP),
    out: Path | None = typer.Option(None, "-o", "--out", help="Study folder (default $SRPRINT_HOME/<preset>)"),
    skip: list[str] = typer.Option(None, "--skip", help="A stage not to run (repeatable), e.g. --skip trace"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run every stage of a study in order (finished stages are skipped on a rerun), then write its report."""
    from .run import run_study

    summary = run_study(preset, out=out, device=device, skip=tuple(skip or ()))
    printed_as_json(summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("study")(study_command)
