"""``srprint attribute ...`` and ``srprint prnu ...`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..classify.options import JpegAugmentOpt, JpegQualityMinOpt, MaxPerClassOpt, TilesOpt, classifier_options
from ..cli_common import DeviceOpt, ExecutorOpt, JobsOpt, JsonOpt, WhereOpt, print_json, printed_as_json, stdout

if TYPE_CHECKING:  # the engine imports torch: keep CLI start-up light
    from ..classify.run_folder import ClassifierConfig

attribute_app = typer.Typer(no_args_is_help=True, help="Attribute images to the SR model that made them.")
prnu_app = typer.Typer(no_args_is_help=True, help="PRNU-style fingerprint baseline (Marra et al. 2019).")


def _print_tables(result: dict, title: str) -> None:
    from .evaluate import tables_markdown

    stdout.print(tables_markdown(result, title), highlight=False, markup=False)


@attribute_app.command("train")
@classifier_options
def train_command(
    data: Path = typer.Option(None, "--data", help="Rendered dataset folder (manifest.parquet)"),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder (resumed if it holds the same run)"),
    label: str = typer.Option(
        "model_id", "--label", help="Column to predict: model_id, scale, loss, arch, ..."
    ),
    where: str | None = typer.Option(None, "--where", help="Filter, e.g. 'scale=4,loss!=L1'"),
    holdout_models: str | None = typer.Option(
        None, "--holdout", help="KEY=VALUE filter of models kept out of training (open-set unknowns)"
    ),
    init: Path | None = typer.Option(
        None, "--init", help="Initialise from another run (head re-made if needed)"
    ),
    jpeg_augment: float | None = JpegAugmentOpt,
    jpeg_quality_min: int | None = JpegQualityMinOpt,
    workers: int = typer.Option(0, "--workers", help="Data-loader worker processes"),
    config: Path | None = typer.Option(None, "--config", help="Re-create a run from its config.yaml"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
    classifier: ClassifierConfig = None,  # type: ignore[assignment]  (from @classifier_options)
) -> None:
    """Train a classifier on the train split of a render (early stop on val; resumable)."""
    from ..classify.train import train_or_rerun

    res = train_or_rerun(data, out, classifier, label=label, where=where, holdout_models=holdout_models,
                         config=config, device=device, num_workers=workers, init=init, jpeg_augment=jpeg_augment,
                         jpeg_quality_min=jpeg_quality_min)
    if printed_as_json(res, as_json):
        return
    stdout.print(f"run {res['run']}: best val acc {res.get('best_val_acc')} at epoch {res.get('best_epoch')} "
                 f"({res.get('epochs_run')} epochs)", highlight=False)


@attribute_app.command("eval")
def eval_command(
    run: Path = typer.Argument(..., help="Run folder"),
    split: str = typer.Option("test", "--split", help="Split to score: test|val|train|all"),
    perturb: bool = typer.Option(False, "--perturb", help="Also JPEG q95/90/75 and resize x0.75/x0.5"),
    data: Path | None = typer.Option(None, "--data", help="Dataset (default: the run's)"),
    tiles: int = TilesOpt,
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Accuracy tables (overall, per model, per hyper-parameter, seed groups), confusion matrix, t-SNE."""
    from .evaluate import evaluate_run

    result = evaluate_run(run, split=split, perturb=perturb, device=device, data=data, tiles=tiles)
    if as_json:
        print_json(result)
    else:
        _print_tables(result, f"{result['method']} on {split}, {tiles} x {tiles} crops per image")
        stdout.print(f"figures: {', '.join(result.get('figures', {}).values())}", highlight=False)


@attribute_app.command("embed")
def embed_command(
    run: Path = typer.Argument(..., help="Run folder"),
    data: Path = typer.Option(..., "--data", help="Render of models the classifier never saw"),
    where: str | None = WhereOpt,
    split: str = typer.Option("test", "--split", help="Split of --data to embed ('all' for every row)"),
    tiles: int = TilesOpt,
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Embed never-seen models' images among the training models (t-SNE) and name their nearest class."""
    from .evaluate import embed_dataset

    result = embed_dataset(
        run, data, where=where, split=None if split == "all" else split, device=device, tiles=tiles
    )
    if printed_as_json(result, as_json):
        return
    for m in result["models"]:
        stdout.print(
            f"{m['model_id']:40s} nearest {m['nearest_class']} ({100 * m['share']:.0f} %)  "
            f"flagged unknown {100 * m['flagged_unknown']:.0f} %",
            highlight=False,
        )
    if result.get("figure"):
        stdout.print(f"figure: {result['figure']}")


@attribute_app.command("predict")
def predict_command(
    run: Path = typer.Argument(..., help="Run folder"),
    image: Path = typer.Argument(..., help="Image file or folder"),
    top_k: int = typer.Option(3, "--top-k", min=1, max=1000, help="Classes listed per image"),
    openset: str | None = typer.Option(None, "--openset", help="Open-set score: distance (default) or msp"),
    tiles: int = TilesOpt,
    confirm: list[Path] | None = typer.Option(None, "--confirm", help="Zoo folder(s) with the candidates' weights: "
                                              "confirm the top-k by model inversion (srprint trace)"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Top-k models per image; for a folder also the aggregate verdict (mean log-probability).
    With --confirm, the top-k of each image are inverted and the confirmed answer is added."""
    from .predict import predict_images

    result = predict_images(run, image, top_k=top_k, device=device, openset_method=openset, tiles=tiles)
    if confirm:
        from .predict import confirm_by_inversion

        confirm_by_inversion(result, list(confirm), device=device)
    if printed_as_json(result, as_json):
        return
    for im in result["images"]:
        tops = ", ".join(f"{t['class']} {100 * t['prob']:.1f}%" for t in im["top"])
        stdout.print(f"{im['path']}: {im['verdict']}  [{tops}]", highlight=False)
        if im.get("confirmed"):
            c = im["confirmed"]
            stdout.print(f"  confirmed by inversion: {c['verdict']}{' ' + c['model'] if c['model'] else ''}",
                         highlight=False)
    agg = result["aggregate"]
    if agg["n"] > 1:
        stdout.print(f"folder verdict ({agg['n']} images): {agg['verdict']}", highlight=False)
    if result["skipped"]:
        n = len(result["skipped"])
        stdout.print(f"skipped {n} of {n + agg['n']} file(s): unreadable", highlight=False)


@prnu_app.command("fit")
def prnu_fit_command(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    out: Path = typer.Option(..., "-o", "--out", help="PRNU run folder"),
    label: str = typer.Option("model_id", "--label", help="Manifest column to attribute: model_id|arch|loss|..."),
    where: str | None = WhereOpt,
    denoiser: str = typer.Option(
        "wavelet", "--denoiser", help="wavelet (default) or bm3d (non-commercial, slow)"
    ),
    metric: str = typer.Option("euclidean", "--metric", help="euclidean or ncc (normalised correlation)"),
    crop: int = typer.Option(128, "--crop", min=8, max=4096, help="Centre crop side of each residual (px)"),
    max_per_class: int | None = MaxPerClassOpt,
    executor: str = ExecutorOpt,
    jobs: int = JobsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Fingerprint per class = mean noise residual of its training images."""
    from .prnu import PRNUConfig, fit_prnu

    cfg = PRNUConfig(denoiser=denoiser, crop=crop, metric=metric, max_per_class=max_per_class)
    run = fit_prnu(data, out, cfg, label=label, where=where, executor=executor, jobs=jobs)
    if as_json:
        print_json({"run": str(run)})
    else:
        stdout.print(f"PRNU fingerprints: {run}")


@prnu_app.command("eval")
def prnu_eval_command(
    run: Path = typer.Argument(..., help="PRNU run folder"),
    split: str = typer.Option("test", "--split", help="Split to score: test|val|train|all"),
    metric: str | None = typer.Option(None, "--metric", help="Override the run's metric"),
    executor: str = ExecutorOpt,
    jobs: int = JobsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The same tables as `attribute eval`, for the PRNU baseline."""
    from .prnu import evaluate_prnu

    result = evaluate_prnu(run, split=split, metric=metric, executor=executor, jobs=jobs)
    if as_json:
        print_json(result)
    else:
        _print_tables(result, f"{result['method']} on {split}")


def trace_command(
    image: Path = typer.Argument(..., help="Image file, or a folder of images assumed to come from one source"),
    zoo: list[Path] = typer.Option(..., "--zoo", help="Zoo folder(s) of candidate models (repeatable)"),
    run: Path | None = typer.Option(None, "--run", help="Attribution run: its top K classes are inverted first, "
                                    "the other candidates only when none of them is confirmed"),
    top: int = typer.Option(5, "--top", min=1, help="With --run: candidates proposed per image"),
    models: str | None = typer.Option(None, "--models", help="Only candidates whose id contains one of these "
                                      "comma-separated substrings"),
    crop: int = typer.Option(48, "--crop", min=16, max=512, help="Side of the window that is inverted (px; the one "
                             "bicubic starts worst on, in the centred region of twice the side)"),
    steps: int = typer.Option(120, "--steps", min=1, max=100000, help="Adam steps per candidate"),
    alpha: float = typer.Option(1e-3, "--alpha", min=1e-12, max=0.5, help="Significance level of 'made by' (a "
                                "PNG's: alpha x 1e-2, TraceSettings.pixel_level)"),
    device: str = DeviceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Which of the candidate models made this exact image? Inverts each candidate (about 1-2 s per
    candidate on a 48-px crop on 2 cores, plus a one-off calibration of each candidate on 32 calibration
    images). A JPEG is traced by the exact requantisation test with the file's own tables."""
    from .trace_cli import run_trace

    run_trace(image, zoo, run=run, top=top, models=models, crop=crop, steps=steps, alpha=alpha, as_json=as_json,
              device=device)


def register(app: typer.Typer) -> None:
    app.add_typer(attribute_app, name="attribute")
    app.add_typer(prnu_app, name="prnu")
    app.command("trace")(trace_command)
