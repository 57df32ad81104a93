"""CLI of the corpus and render capability.

* ``srprint corpus prepare SRC... --out DIR`` (and ``srprint corpus info DIR``);
* ``srprint render --zoo Z --corpus C [--out D] ...``: ``render`` is a command group whose callback
  (``invoke_without_command=True``) renders when no sub-command is given, so the documented call
  works as is; ``srprint render info D`` summarises a rendered dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..cli_common import DeviceOpt, JsonOpt, executor_options, print_json, printed_as_json, stdout
from ..errors import SrprintError

corpus_app = typer.Typer(no_args_is_help=True, help="Prepare the HR photo corpus that models render from.")
render_app = typer.Typer(help="Render the labelled SR dataset of a zoo (summarise one: render info D).")


@corpus_app.command("prepare")
def corpus_prepare(
    sources: list[str] = typer.Argument(
        ..., help="Files, folders, 'skimage:' or 'skimage:NAME,...', 'shared:SET' or 'shared:SET/SPLIT'"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output corpus folder"),
    long_side: int = typer.Option(960, "--long-side", min=8, max=65536, help="Max long side (never upscales)"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Keep at most N images"),
    blur_sigma: float = typer.Option(0.5, "--blur-sigma", min=0.0, max=100.0,
                                      help="Blur sigma before resizing (0: none)"),
    tile: int | None = typer.Option(None, "--tile", min=8, max=65536, help="Cut photos into NxN source images"),
    max_tiles: int | None = typer.Option(None, "--max-tiles", min=1, help="With --tile: at most N tiles per photo"),
    as_json: bool = JsonOpt,
) -> None:
    """Prepare an HR corpus: blur + antialiased bicubic shrink, RGB PNGs <set>_<stem>.png, corpus.json."""
    from .corpus import PrepareConfig, prepare_corpus

    cfg = PrepareConfig(long_side=long_side, blur_sigma=blur_sigma, tile=tile, max_tiles=max_tiles,
                        limit=limit)
    corpus = prepare_corpus(sources, out, cfg)
    if as_json:
        print_json({"corpus": str(out), "name": corpus.name, "n_images": len(corpus),
                    "hash": corpus.content_hash,
                    "images": [im.image_id for im in corpus.images]})
        return
    stdout.print(f"prepared {len(corpus)} images in {out}", highlight=False)


@corpus_app.command("info")
def corpus_info(root: Path = typer.Argument(..., help="Corpus folder"), as_json: bool = JsonOpt) -> None:
    """Summarise a corpus (or any folder of images)."""
    from .corpus import Corpus

    c = Corpus.open(root)
    sets: dict[str, int] = {}
    for im in c.images:
        sets[im.set] = sets.get(im.set, 0) + 1
    info = {"corpus": str(root), "name": c.name, "n_images": len(c), "sets": sets, "hash": c.content_hash,
            "config": c.config}
    if printed_as_json(info, as_json):
        return
    per_set = ", ".join(f"{k} {v}" for k, v in sets.items())
    stdout.print(f"{c.name}: {len(c)} images ({per_set})", highlight=False)


@render_app.callback(invoke_without_command=True)
@executor_options
def render_command(
    ctx: typer.Context,
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo folder"),
    corpus: Path | None = typer.Option(None, "--corpus", help="Corpus folder (or any image folder)"),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Output (default $SRPRINT_HOME/renders/...)"),
    models: str | None = typer.Option(None, "--models",
                                      help="Filter: 'arch=EDSR,scale=4' (where-syntax) or id globs 'EDSR-*'"),
    hr_crop: int | None = typer.Option(None, "--hr-crop", min=8, max=65536, help="Centre crop NxN of each HR photo"),
    split_seed: int = typer.Option(0, "--split-seed", min=0, help="Seed of the source-image split"),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=4096,
                                    help="Images per forward pass (equal sizes only)"),
    no_real: bool = typer.Option(False, "--no-real", help="Do not write the real HR class"),
    device: str = DeviceOpt, as_json: bool = JsonOpt,
    run_on: dict[str, Any] = None,  # type: ignore[assignment]  (from @executor_options)
) -> None:
    """Render every (selected) zoo model on every corpus photo; resumable, skips intact PNGs."""
    if ctx.invoked_subcommand is not None:
        return
    if zoo is None or corpus is None:
        raise SrprintError("srprint render needs --zoo DIR and --corpus DIR (or: srprint render info DIR)")
    from .run import RenderConfig, render_dataset

    cfg = RenderConfig(hr_crop=hr_crop, split_seed=split_seed, batch_size=batch_size)
    summary = render_dataset(zoo, corpus, out, models=models, cfg=cfg, device=device, include_real=not no_real,
                             **run_on)
    _print_rendered(summary, as_json=as_json)
    summary.raise_if_failed()


def _print_rendered(summary: Any, *, as_json: bool) -> None:
    """What ``srprint render`` did: counts, skipped and failed models, the dataset folder."""
    if as_json:
        print_json(summary.to_dict())
        return
    stdout.print(f"rendered {summary.rendered} images, {summary.existing} already there "
                 f"({summary.images_per_s:.1f} img/s); {summary.n_models} models + HR x "
                 f"{summary.n_source_images} source images; manifest: {summary.manifest_rows} rows",
                 highlight=False)
    for mid, why in summary.skipped_models.items():
        stdout.print(f"skipped {mid}: {why}", highlight=False)
    for mid, err in summary.failures.items():
        stdout.print(f"[red]FAIL[/] {mid}: {err}", highlight=False)
    stdout.print(f"dataset: {summary.out}", highlight=False)


@render_app.command("info")
def render_info_command(root: Path = typer.Argument(..., help="Rendered dataset folder"),
                        as_json: bool = JsonOpt) -> None:
    """Summarise a rendered dataset: classes, images per split, failures."""
    from .run import render_info

    info = render_info(root)
    if printed_as_json(info, as_json):
        return
    stdout.print(f"{info['root']}: {info['n_images']} images, {info['n_models']} models + real, "
                 f"{info['n_source_images']} source images; splits {info['splits']}", highlight=False)
    for row in info["per_model"]:
        stdout.print(f"  {row['model_id']:45s} {row['source']:9s} {row['images']:6d}", highlight=False)
    for mid, err in info["failures"].items():
        stdout.print(f"  [red]failed[/] {mid}: {err}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
    app.add_typer(render_app, name="render")
