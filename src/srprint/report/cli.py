"""``srprint report [STUDY_DIR] -o report.html``: one self-contained page of a study."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli_common import ForceOpt, JsonOpt, printed_as_json, stdout


def report_command(
    study: Path | None = typer.Argument(None, help="Study folder (default: $SRPRINT_HOME/demo, what srprint "
                                        "demo writes), or a folder of result tables such as bench/results"),
    out: Path = typer.Option(..., "-o", "--out", help="The HTML file to write (images embedded, opens from disk)"),
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo of the population table (default: the study's)"),
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write one HTML page with every table and figure of a study; stages not run are marked so."""
    from ..config import srprint_home
    from ..io.outputs import check_output_file
    from .html import write_report

    study = study if study is not None else srprint_home() / "demo"
    check_output_file(out, force=force)
    path = write_report(study, out, zoo=zoo)
    if printed_as_json({"report": str(path)}, as_json):
        return
    stdout.print(f"report: {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
