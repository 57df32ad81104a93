"""Command-line interface (thin: parses arguments and calls library functions).

This module holds the app, ``sr``, ``demo``, the error boundary and the list of stage apps; every
stage's commands live in its own ``cli`` module.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from pathlib import Path

import typer

from .attribution import cli as attribution_cli
from .cli_common import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    print_json,
    resolve_model_arg,
    rewrite_renamed_options,
    show_flags_as_flags,
    stdout,
)
from .errors import expected_failure_message
from .io.env import check_environment
from .lineage import cli as lineage_cli
from .parsing import cli as parsing_cli
from .render import cli as render_cli
from .report import cli as report_cli
from .study import cli as study_cli
from .verification import cli as verification_cli
from .zoo.cli import zoo_app

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="srprint: fingerprints of super-resolution networks (attribution, parsing, verification).")
show_flags_as_flags()


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        stdout.print(f"srprint {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the srprint version and exit"),
) -> None:
    """srprint: fingerprints of super-resolution networks (attribution, parsing, verification)."""


@app.command("sr")
def sr_command(
    model: str = typer.Argument(..., help="Zoo entry folder, or model id with --zoo"),
    image: Path = typer.Argument(..., help="Input (LR) image"),
    out: Path = typer.Option(..., "-o", "--out", help="Output PNG"),
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo folder to look the id up in"),
    device: str = DeviceOpt,
    force: bool = ForceOpt,
) -> None:
    """Super-resolve (or restore) one image with a zoo model."""
    from .io.images import read_image, write_png
    from .io.outputs import check_output_file

    entry_dir = resolve_model_arg(model, zoo)
    check_output_file(out, force=force, inputs=[image, entry_dir / "model.safetensors", entry_dir / "model.json"])
    img = read_image(image)
    # torch only now: refusing a bad path or image should not pay its import (seconds)
    from .zoo.model import load_model

    m = load_model(entry_dir, device=device)
    write_png(out, m.run_image(img, device=device))
    stdout.print(f"wrote {out} ({img.shape[1]}x{img.shape[0]} -> x{m.scale})")


@app.command("demo")
def demo_command(
    out: Path | None = typer.Option(None, "-o", "--out", help="Output folder (default $SRPRINT_HOME/demo)"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """End-to-end demo on scikit-image's bundled photos (no shared data needed)."""
    from .demo import run_demo

    summary = run_demo(out, device=device)
    if as_json:
        print_json(summary)


# the stage apps, in the order `srprint --help` lists them
app.add_typer(zoo_app, name="zoo")
for _stage in (render_cli, attribution_cli, parsing_cli, verification_cli, lineage_cli, report_cli, study_cli):
    _stage.register(app)


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    return f"warning: {message}\n"


INTERRUPTED = "interrupted; finished work is kept, rerun to resume"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: every expected failure is one line on stderr and exit 2; Ctrl-C exits 130."""
    # a job started in the background by a non-interactive shell inherits an ignored SIGINT: restore
    # Python's default, so Ctrl-C (or kill -INT) always stops srprint with exit 130
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.formatwarning = _format_warning  # one line per warning, no source dump
    warnings.filterwarnings("ignore", message=".*torch.meshgrid.*")
    # a file name that is not valid UTF-8 is printed escaped instead of raising UnicodeEncodeError
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = rewrite_renamed_options(sys.argv[1:] if argv is None else list(argv))
    try:
        check_environment()
        rv = app(args=args, prog_name="srprint", standalone_mode=False)
    except KeyboardInterrupt:
        _exit_interrupted()
    except Exception as exc:  # noqa: BLE001 - sorted into expected failures (one line) and bugs (re-raised)
        code = _usage_exit_code(exc)
        if code == 130:
            _exit_interrupted()
        if code is not None:
            sys.exit(code)
        message = expected_failure_message(exc)
        if message is None:
            raise
        sys.stderr.write(f"error: {message}\n")
        sys.exit(2)
    if rv == 130:  # typer turns Ctrl-C into a return value of 130 under standalone_mode=False
        _exit_interrupted()
    if isinstance(rv, int) and rv:
        sys.exit(rv)


def _exit_interrupted() -> None:
    sys.stderr.write(f"\n{INTERRUPTED}\n")
    sys.exit(130)


def _show_usage_error(exc: Exception) -> None:
    """A bad option or argument is one line on stderr; a bare group (no command given) shows its help."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]
        return
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    sys.stderr.write(f"error: {message}{hint}\n")


def _usage_exit_code(exc: Exception) -> int | None:
    """Exit code for click's / typer's usage exceptions (message shown on one line), None for others.

    typer >= 0.20 vendors click as ``typer._click``: its exceptions are not ``click``'s, so both
    families are checked (a missing or badly typed option must not end in a traceback). An abort
    (Ctrl-C inside click) is 130.
    """
    import click

    families: list[tuple[type, type, type]] = [
        (click.exceptions.Exit, click.exceptions.Abort, click.ClickException)
    ]
    try:
        from typer import Abort as TyperAbort
        from typer import Exit as TyperExit
        from typer._click.exceptions import ClickException as TyperClickException
    except ImportError:  # older typer: click's own exceptions
        pass
    else:
        families.append((TyperExit, TyperAbort, TyperClickException))
    for exit_cls, abort_cls, error_cls in families:
        if isinstance(exc, exit_cls):
            return int(getattr(exc, "exit_code", 0) or 0)
        if isinstance(exc, abort_cls):
            return 130
        if isinstance(exc, error_cls):
            _show_usage_error(exc)
            return int(getattr(exc, "exit_code", 2))
    return None


if __name__ == "__main__":
    main()
