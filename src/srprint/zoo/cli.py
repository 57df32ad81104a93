"""``srprint zoo``: build and inspect populations of SR models (grid, train, list, eval, import)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import typer

from ..cli_common import DeviceOpt, JsonOpt, executor_options, print_json, printed_as_json, stdout
from ..errors import SpecError

zoo_app = typer.Typer(no_args_is_help=True, help="Build and inspect populations of SR models.")


@zoo_app.command("grid")
def zoo_grid(
    preset: str = typer.Option("mini", "--preset", help="paper | mini | demo"),
    config: Path | None = typer.Option(None, "--config", help="Custom grid YAML (overrides --preset)"),
    as_json: bool = JsonOpt,
) -> None:
    """List the model ids of a grid preset or a YAML grid."""
    from .specs import grid_of

    grid = grid_of(preset, config)
    if as_json:
        print_json({"preset": grid.name, "n_models": len(grid.specs), "ids": grid.ids,
                    "specs": [s.to_dict() for s in grid.specs]})
        return
    for mid in grid.ids:
        stdout.print(mid, highlight=False)
    stdout.print(f"[bold]{len(grid.specs)} models[/] in grid {grid.name}")


@zoo_app.command("train")
@executor_options
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
    device: str = DeviceOpt, as_json: bool = JsonOpt,
    run_on: dict[str, Any] = None,  # type: ignore[assignment]  (from @executor_options)
) -> None:
    """Train every model of a grid (or the given ids) into a zoo; resumes and skips finished models."""
    from .api import raise_if_training_failed, train_specs, training_plan
    from .entry import default_zoo_dir

    specs, name, cfg = training_plan(preset=preset, spec=spec, config=config, size=size, iters=iters,
                                     ckpt_every=ckpt_every, perceptual_weights=perceptual_weights)
    zoo_dir = zoo or default_zoo_dir(name)
    results = train_specs(specs, zoo_dir, cfg, device=device, **run_on)
    _print_trained(results, zoo_dir, as_json=as_json)
    raise_if_training_failed(results)


def _print_trained(results: list[Any], zoo_dir: Path, *, as_json: bool) -> None:
    """Each model of ``zoo train``: skipped, done (PSNR against bicubic) or failed; then the zoo."""
    if as_json:
        print_json({"zoo": str(zoo_dir), "results": [{"job": str(r.job), "value": r.value, "error": r.error}
                                                     for r in results]})
        return
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


@zoo_app.command("list")
def zoo_list(zoo: Path = typer.Argument(..., help="Zoo folder"), as_json: bool = JsonOpt) -> None:
    """List the complete models of a zoo."""
    from .entry import Zoo  # not .api, which imports torch (seconds) for training and evaluation

    entries = Zoo(zoo).entries()
    if printed_as_json([e.to_dict() for e in entries], as_json):
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
    from .api import eval_zoo

    rows = eval_zoo(zoo, images, device=device, models=model or None, limit=limit)
    if printed_as_json(rows, as_json):
        return
    stdout.print(f"{'model':45s} {'PSNR':>7s} {'SSIM':>6s} {'bicubic':>8s} {'gain':>6s}", highlight=False)
    for r in rows:
        if "psnr" in r:
            stdout.print(f"{r['id']:45s} {r['psnr']:7.2f} {r['ssim']:6.3f} {r['bicubic_psnr']:8.2f} "
                         f"{r['psnr_gain']:+6.2f}", highlight=False)
        else:
            stdout.print(f"{r['id']:45s} {r.get('error', '')}", highlight=False)




@zoo_app.command("import")
def zoo_import(
    path: Path | None = typer.Argument(None, help="Checkpoint file (.pth/.pt/.safetensors, or .pb/.h5/.mat)"),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV with id,file[,arch,task,scale,loss,...] rows"),
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo folder (default $SRPRINT_HOME/zoos/imported)"),
    name: str | None = typer.Option(None, "--name", help="Entry name; id is NAME-pretrained (default: file stem)"),
    arch: str | None = typer.Option(None, "--arch", help="Expected architecture (checked against detection)"),
    scale: int | None = typer.Option(None, "--scale", min=1, max=16,
                                     help="Expected scale (multi-scale files: import only this)"),
    loss: str | None = typer.Option(None, "--loss", help="Training loss label, e.g. L1 or GAN+VGG"),
    task: str | None = typer.Option(None, "--task", help="sr | denoise"),
    sigma: int | None = typer.Option(None, "--sigma", min=1, max=255,
                                     help="Denoisers: noise level (0-255 scale) the model is trained for / run at "
                                          "(FFDNet: fixed in its config); default: parsed from the name, else 25"),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an entry with the same id"),
    allow_pickle: bool = typer.Option(False, "--allow-pickle",
                                      help="UNSAFE: allow full unpickling (runs code from the file)"),
    as_json: bool = JsonOpt,
) -> None:
    """Import a third-party checkpoint (or every row of a manifest) into a zoo, safely."""
    from .entry import default_zoo_dir
    from .imports import import_file, import_manifest
    from .imports.core import raise_if_all_rows_failed

    if (path is None) == (manifest is None):
        raise SpecError("give either a checkpoint PATH or --manifest CSV (not both)")
    zoo_dir = zoo or default_zoo_dir("imported")
    if allow_pickle:
        warnings.warn("--allow-pickle: files that need full unpickling can run arbitrary code on this machine; "
                      "use it only for files you trust", stacklevel=1)
    if manifest is not None:
        results = import_manifest(manifest, zoo_dir, replace=replace, allow_pickle=allow_pickle)
        _print_manifest(results, zoo_dir, as_json=as_json)
        raise_if_all_rows_failed(results)
        return
    assert path is not None
    entries = import_file(path, zoo_dir, name=name, arch=arch, scale=scale, loss=loss, task=task, replace=replace,
                          allow_pickle=allow_pickle, sigma=sigma)
    _print_imported(entries, zoo_dir, as_json=as_json)


def _print_imported(entries: list[Any], zoo_dir: Path, *, as_json: bool) -> None:
    """The entries one ``zoo import PATH`` wrote."""
    if printed_as_json({"zoo": str(zoo_dir), "entries": [e.to_dict() for e in entries]}, as_json):
        return
    for e in entries:
        rng = f"[{e.input_range[0]:g},{e.input_range[1]:g}]"
        stdout.print(f"imported {e.id}: {e.arch} x{e.scale} {e.task} input {rng} "
                     f"(detected by {(e.imported or {}).get('detected_by')}) -> {e.path}", highlight=False)


def _print_manifest(results: list[dict], zoo_dir: Path, *, as_json: bool) -> None:
    """Each row of ``zoo import --manifest`` and the summary; a warning when some (not all) rows failed."""
    from .imports.core import summarize

    summary = summarize(results)
    if printed_as_json({"zoo": str(zoo_dir), **summary, "results": results}, as_json):
        return
    for r in results:
        if r["ok"]:
            what = "skip" if r["skipped"] else "ok  "
            stdout.print(f"{what}  {r['id']:34s} {r['arch']:18s} via {r['detected_by']:10s} "
                         f"-> {', '.join(r['entries'])}", highlight=False)
        else:
            stdout.print(f"[red]FAIL[/] {r['id']:34s} {r['error']}", highlight=False)
    stdout.print(f"[bold]{summary['imported_rows']}/{summary['rows']}[/] files imported "
                 f"({summary['entries']} entries, {len(summary['archs'])} architectures) into {zoo_dir}")
    failed = summary["failed_rows"]
    if failed and failed < len(results):
        warnings.warn(f"{failed} of {len(results)} manifest rows failed (listed above)", stacklevel=1)
