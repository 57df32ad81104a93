"""``srprint zoo import``: add third-party checkpoints (one file or a manifest CSV) to a zoo."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..cli_common import JsonOpt, print_json, stdout
from ..errors import SpecError, SrprintError


def _zoo_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "zoo" and group.typer_instance is not None:
            return group.typer_instance
    zoo_app = typer.Typer(no_args_is_help=True, help="Build and inspect populations of SR models.")
    app.add_typer(zoo_app, name="zoo")
    return zoo_app


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
    from .imports.core import summarize

    if (path is None) == (manifest is None):
        raise SpecError("give either a checkpoint PATH or --manifest CSV (not both)")
    zoo_dir = zoo or default_zoo_dir("imported")
    if allow_pickle:
        warnings.warn("--allow-pickle: files that need full unpickling can run arbitrary code on this machine; "
                      "use it only for files you trust", stacklevel=1)
    if manifest is not None:
        results = import_manifest(manifest, zoo_dir, replace=replace, allow_pickle=allow_pickle)
        summary = summarize(results)
        failed = [r for r in results if not r["ok"]]
        if as_json:
            print_json({"zoo": str(zoo_dir), **summary, "results": results})
            _fail_if_all_failed(failed, results)
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
        if failed and len(failed) < len(results):
            warnings.warn(f"{len(failed)} of {len(results)} manifest rows failed (listed above)", stacklevel=1)
        _fail_if_all_failed(failed, results)
        return
    assert path is not None
    entries = import_file(path, zoo_dir, name=name, arch=arch, scale=scale, loss=loss, task=task, replace=replace,
                          allow_pickle=allow_pickle, sigma=sigma)
    if as_json:
        print_json({"zoo": str(zoo_dir), "entries": [e.to_dict() for e in entries]})
        return
    for e in entries:
        rng = f"[{e.input_range[0]:g},{e.input_range[1]:g}]"
        stdout.print(f"imported {e.id}: {e.arch} x{e.scale} {e.task} input {rng} "
                     f"(detected by {(e.imported or {}).get('detected_by')}) -> {e.path}", highlight=False)


def _fail_if_all_failed(failed: list[dict], results: list[dict]) -> None:
    if results and len(failed) == len(results):
        raise SrprintError(f"all {len(results)} manifest rows failed; first: {failed[0]['id']}: {failed[0]['error']}")


def register(app: typer.Typer) -> None:
    """Add ``import`` to the ``zoo`` command group."""
    _zoo_group(app).command("import")(zoo_import)


__all__ = ["SrprintError", "register", "zoo_import"]
