"""Command-line interface (thin: parses arguments and calls library functions).

Each capability contributes its commands from its own ``cli`` module through ``register(app)``.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

import typer

from .cli_common import (
    DeviceOpt,
    ExecutorOpt,
    ForceOpt,
    JobsOpt,
    JsonOpt,
    RayAddressOpt,
    executor_kwargs,
    print_json,
    rewrite_renamed_options,
    show_flags_as_flags,
    stdout,
)
from .errors import SrprintError, expected_failure_message

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="srprint: fingerprints of super-resolution networks (attribution, parsing, verification).")
zoo_app = typer.Typer(no_args_is_help=True, help="Build and inspect populations of SR models.")
app.add_typer(zoo_app, name="zoo")
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


def _grid(preset: str | None, config: Path | None):  # noqa: ANN202
    from .zoo.specs import load_grid, resolve_grid

    if config is not None:
        return load_grid(config)
    return resolve_grid(preset or "mini")


@zoo_app.command("grid")
def zoo_grid(
    preset: str = typer.Option("mini", "--preset", help="paper | mini | demo"),
    config: Path | None = typer.Option(None, "--config", help="Custom grid YAML (overrides --preset)"),
    as_json: bool = JsonOpt,
) -> None:
    """List the model ids of a grid preset or a YAML grid."""
    grid = _grid(preset, config)
    if as_json:
        print_json({"preset": grid.name, "n_models": len(grid.specs), "ids": grid.ids,
                    "specs": [s.to_dict() for s in grid.specs]})
        return
    for mid in grid.ids:
        stdout.print(mid, highlight=False)
    stdout.print(f"[bold]{len(grid.specs)} models[/] in grid {grid.name}")


@zoo_app.command("train")
def zoo_train(
    preset: str | None = typer.Option(None, "--preset", help="paper | mini | demo"),
    spec: list[str] = typer.Option(None, "--spec", help="Model id(s) to train, e.g. EDSR-bsds-x2-L1-s1"),
    config: Path | None = typer.Option(None, "--config", help="Custom grid YAML"),
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo folder (default $SRPRINT_HOME/zoos/<preset>)"),
    size: str = typer.Option("tiny", "--size", help="Size preset for --spec models (tiny | paper)"),
    iters: int | None = typer.Option(None, "--iters", min=1, max=10_000_000, help="Training iterations per model"),
    ckpt_every: int | None = typer.Option(None, "--ckpt-every", min=1, help="Checkpoint every N iterations"),
    perceptual_weights: Path | None = typer.Option(None, "--perceptual-weights",
                                                   help="safetensors of real ImageNet VGG19/ResNet18 weights"),
    device: str = DeviceOpt, executor: str = ExecutorOpt, jobs: int = JobsOpt,
    ray_address: str | None = RayAddressOpt, as_json: bool = JsonOpt,
) -> None:
    """Train every model of a grid (or the given ids) into a zoo; resumes and skips finished models."""
    from .zoo.api import preset_train_config, train_specs
    from .zoo.entry import default_zoo_dir
    from .zoo.specs import parse_model_id

    if spec:
        specs = [parse_model_id(s, size=size) for s in spec]
        name, grid_datasets = (preset or "custom"), {}
    else:
        grid = _grid(preset, config)
        specs, name, grid_datasets = grid.specs, grid.name, grid.datasets
    cfg = preset_train_config(name, iters=iters, ckpt_every=ckpt_every)
    if grid_datasets:
        cfg.datasets = dict(grid_datasets)
    if perceptual_weights is not None:
        cfg.loss.perceptual_weights = str(perceptual_weights)
    zoo_dir = zoo or default_zoo_dir(name)
    results = train_specs(specs, zoo_dir, cfg, device=device, executor=executor, jobs=jobs,
                          **executor_kwargs(executor, ray_address))
    failed = [r for r in results if not r.ok]
    if as_json:
        print_json({"zoo": str(zoo_dir), "results": [{"job": str(r.job), "value": r.value, "error": r.error}
                                                     for r in results]})
    else:
        for r in results:
            if r.ok and r.value.get("skipped"):
                stdout.print(f"skip  {r.value['id']} (already trained)", highlight=False)
            elif r.ok:
                v = r.value
                stdout.print(f"done  {v['id']}  PSNR {v['psnr']:.2f} dB (bicubic {v['bicubic_psnr']:.2f})  "
                             f"{v['seconds']:.0f}s", highlight=False)
            else:
                stdout.print(f"[red]FAIL[/] {r.job}: {r.error}", highlight=False)
        stdout.print(f"zoo: {zoo_dir}")
    if failed:
        first = failed[0]
        raise SrprintError(f"{len(failed)} of {len(results)} models failed; first: {first.job}: {first.error}")


@zoo_app.command("list")
def zoo_list(zoo: Path = typer.Argument(..., help="Zoo folder"), as_json: bool = JsonOpt) -> None:
    """List the complete models of a zoo."""
    from .zoo.api import list_zoo

    entries = list_zoo(zoo)
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    for e in entries:
        psnr = e.metrics.get("psnr")
        extra = f"PSNR {psnr:.2f}" if isinstance(psnr, float) else ""
        stdout.print(f"{e.id:45s} {e.source:9s} {e.arch:10s} x{e.scale} {e.task:8s} {extra}", highlight=False)
    stdout.print(f"[bold]{len(entries)} models[/] in {zoo}")


@zoo_app.command("eval")
def zoo_eval(
    zoo: Path = typer.Argument(..., help="Zoo folder"),
    images: Path = typer.Option(..., "--images", help="Folder of HR images"),
    model: list[str] = typer.Option(None, "--model", help="Only these model ids"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Use at most N images"),
    device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """PSNR / SSIM (Y channel, border shaved) of each model against bicubic (the study's Table 8)."""
    from .zoo.api import eval_zoo

    rows = eval_zoo(zoo, images, device=device, models=model or None, limit=limit)
    if as_json:
        print_json(rows)
        return
    stdout.print(f"{'model':45s} {'PSNR':>7s} {'SSIM':>6s} {'bicubic':>8s} {'gain':>6s}", highlight=False)
    for r in rows:
        if "psnr" in r:
            stdout.print(f"{r['id']:45s} {r['psnr']:7.2f} {r['ssim']:6.3f} {r['bicubic_psnr']:8.2f} "
                         f"{r['psnr_gain']:+6.2f}", highlight=False)
        else:
            stdout.print(f"{r['id']:45s} {r.get('error', '')}", highlight=False)


def resolve_model_arg(model: str, zoo: Path | None) -> Path:
    """A model given as an entry folder, or as an id inside ``--zoo``."""
    p = Path(model)
    if p.is_dir():
        return p
    if zoo is not None:
        return zoo / model
    raise SrprintError(f"model {model!r} is not a zoo entry folder; pass --zoo DIR to look it up by id")


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
    from .config import resolve_device
    from .io.images import read_image, write_png
    from .io.outputs import check_output_file
    from .zoo.model import load_model

    check_output_file(out, force=force, inputs=[image])
    img = read_image(image)
    dev = resolve_device(device)
    m = load_model(resolve_model_arg(model, zoo), device=dev)
    write_png(out, m.run_image(img, device=dev))
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


# capability modules that add commands (each exposes register(app))
PLUGINS = (
    "srprint.zoo.import_cli",
    "srprint.render_cli",
    "srprint.attribution.cli",
    "srprint.parsing.cli",
    "srprint.verification.cli",
)


def _register_plugins() -> None:
    for name in PLUGINS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # capability not built yet
                continue
            raise
        mod.register(app)


_register_plugins()


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    return f"warning: {message}\n"


INTERRUPTED = "interrupted; finished work is kept, rerun to resume"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: every expected failure is one line on stderr and exit 2; Ctrl-C exits 130."""
    warnings.formatwarning = _format_warning  # one line per warning, no source dump
    warnings.filterwarnings("ignore", message=".*torch.meshgrid.*")
    # a file name that is not valid UTF-8 is printed escaped instead of raising UnicodeEncodeError
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = rewrite_renamed_options(sys.argv[1:] if argv is None else list(argv))
    try:
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
