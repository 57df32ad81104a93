"""``srprint parse ...`` (held-out parsers) and ``srprint fen ...`` (FEN + PN) commands."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..classify.options import TilesOpt, classifier_options
from ..cli_common import DeviceOpt, JsonOpt, print_markdown_or_json, printed_as_json, stdout
from ..errors import SrprintError
from .options import fen_options

if TYPE_CHECKING:  # the engine imports torch: keep CLI start-up light
    from ..classify.run_folder import ClassifierConfig

parse_app = typer.Typer(no_args_is_help=True, help="Parse hyperparameters (scale, loss, arch, dataset) from images.")
fen_app = typer.Typer(no_args_is_help=True, help="Fingerprint Estimation Network + Parsing Network (Asnani et al.).")

TestSplitOpt = typer.Option("test", "--split", help="Images of the held-out models to test on: test|val|train|all")


# ------------------------------------------------------------------------------------------------ parse
@parse_app.command("train")
@classifier_options
def parse_train(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    target: str = typer.Option(..., "--target", help="scale | loss | arch | dataset"),
    holdout: str = typer.Option(..., "--holdout", help="KEY=VALUE: models tested on and never trained on"),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder"),
    where: str | None = typer.Option(None, "--where", help="Manifest filter applied first"),
    test_split: str = TestSplitOpt,
    classifier: ClassifierConfig = None,  # type: ignore[assignment]  (from @classifier_options)
    tiles: int = TilesOpt, device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Train a held-out parser of TARGET on the models without KEY=VALUE; test it on the models with it."""
    from .heldout import train_heldout

    res = train_heldout(data, target, holdout, out=out, cfg=classifier, device=device, where=where,
                        test_split=test_split, tiles=tiles)
    if printed_as_json(res, as_json):
        return
    stdout.print(
        f"{target} parser, held out {holdout}: test accuracy {100 * res['accuracy']:.1f}% "
        f"(chance {100 * res['chance']:.1f}%) on {res['n_test']} images of {res['test_models']} models"
    )
    stdout.print(f"run: {out}")


@parse_app.command("table")
@classifier_options
def parse_table_cmd(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (one run per cell + table.md / table.json)"),
    holdout: list[str] = typer.Option(None, "--holdout", help="Held-out values (default: the study's grid)"),
    target: list[str] = typer.Option(None, "--target", help="Targets (default: scale loss arch dataset)"),
    where: str | None = typer.Option(None, "--where", help="Manifest filter applied first"),
    test_split: str = TestSplitOpt,
    classifier: ClassifierConfig = None,  # type: ignore[assignment]  (from @classifier_options)
    tiles: int = TilesOpt, device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """The study's held-out parser grid (targets x held-out values) with a chance column."""
    from .heldout import TARGETS, parse_table

    table = parse_table(
        data, out, classifier, device=device, targets=tuple(target or TARGETS), holdouts=holdout or None, where=where,
        test_split=test_split, tiles=tiles
    )
    print_markdown_or_json(table, out / "table.md", as_json=as_json)


@parse_app.command("predict")
def parse_predict(
    run: Path = typer.Argument(..., help="Parser run folder"),
    image: Path = typer.Argument(..., help="Image or folder of images"),
    tiles: int = TilesOpt, device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Predict the parser's hyperparameter for an image, or for every image of a folder (plus aggregate)."""
    from .predict import predict_images

    res = predict_images(run, image, device, tiles)
    if printed_as_json(res, as_json):
        return
    for item in res["images"]:
        p = item["probs"][item["prediction"]]
        stdout.print(f"{item['path']}: {res['label']} = {item['prediction']} ({100 * p:.0f}%)", highlight=False)
    for s in res["skipped"]:
        stdout.print(f"[yellow]skipped[/] {s}", highlight=False)
    if len(res["images"]) > 1:
        agg = res["aggregate"]
        stdout.print(
            f"aggregate over {agg['n_images']} images: {agg['mean_prediction']} (mean probability), "
            f"{agg['majority_vote']} (majority vote)",
            highlight=False,
        )


@parse_app.command("imported")
@classifier_options
def parse_imported(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder with imported models"),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder"),
    target: list[str] = typer.Option(None, "--target", help="Targets (default: scale loss arch)"),
    split: str = typer.Option("test", "--split", help="Images of the imported models to predict: test|...|all"),
    family_folds: int | None = typer.Option(
        None, "--family-folds", min=0, max=100,
        help="Also train on the imported models, predicting each with parsers that never "
        "saw its family (K folds; 0: zoo only). Targets scale and loss_family; all images of a model are predicted"),
    per_model: int = typer.Option(40, "--per-model", min=1, help="With --family-folds: training images per model"),
    classifier: ClassifierConfig = None,  # type: ignore[assignment]  (from @classifier_options)
    tiles: int = TilesOpt, device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Parsers trained on the whole zoo applied to every imported model (prediction distributions)."""
    from .crossfamily import CROSSFIT_TARGETS, imported_crossfit
    from .imported import imported_table

    if family_folds is None:
        table = imported_table(data, out, classifier, device=device, targets=tuple(target or ("scale", "loss", "arch")),
                               split=split, tiles=tiles)
        md = out / "imported.md"
    else:
        bad = set(target or ()) - set(CROSSFIT_TARGETS)
        if bad:
            raise SrprintError(f"--family-folds parses {', '.join(CROSSFIT_TARGETS)} only, not {', '.join(bad)}")
        table = imported_crossfit(data, out, classifier, device=device, folds=family_folds, per_model=per_model,
                                  targets=tuple(target or CROSSFIT_TARGETS), seed=classifier.seed, tiles=tiles)
        md = out / "crossfit.md"
    print_markdown_or_json(table, md, as_json=as_json)


@parse_app.command("archstats")
def parse_archstats(
    zoo: Path | None = typer.Option(None, "--zoo", help="Zoo folder (stats of every model)"),
    arch: list[str] = typer.Option(None, "--arch", help="Registered architecture(s) instead of a zoo"),
    scale: int = typer.Option(4, "--scale", min=1, max=16, help="Scale of the --arch models"),
    size: str = typer.Option("tiny", "--size", help="Size preset of the --arch models: tiny | paper"),
    as_json: bool = JsonOpt,
) -> None:
    """Architecture hyperparameters derived from the modules (layers, parameters, skips, upsampler)."""
    from .archstats import stats_for_arch, zoo_label_table

    if zoo is not None:
        rows = zoo_label_table(zoo).to_dict(orient="records")
    elif arch:
        rows = [{"model_id": f"{a}-x{scale}-{size}", **stats_for_arch(a, scale, size).to_dict()} for a in arch]
    else:
        raise SrprintError("give --zoo DIR or --arch NAME")
    if printed_as_json(rows, as_json):
        return
    for r in rows:
        stdout.print(
            f"{r['model_id']:40s} conv {r['n_conv']:3d} lin {r['n_linear']:3d} norm {r['n_norm']:3d} "
            f"attn {r['n_attention']:3d} blocks {r['n_blocks']:3d} skips {r['n_skip']:3d} depth "
            f"{r['depth']:3d} params {r['n_params']:>10,d} up {r['upsampler']}",
            highlight=False,
        )


@parse_app.command("schema")
def parse_schema(
    gm_labels: Path | None = typer.Option(None, "--gm-labels", help="Folder with architecture.csv + loss.csv"),
    data: Path | None = typer.Option(None, "--data", help="Rendered dataset (zoo schema from its models)"),
    schema_file: Path | None = typer.Option(None, "--schema", help="YAML schema to check against the table"),
    as_json: bool = JsonOpt,
) -> None:
    """Show (and validate) the hyperparameter schema of a label table."""
    from .schema import HyperparamSchema, gm_schema, load_gm_labels

    if gm_labels is not None:
        table = load_gm_labels(gm_labels)
        schema = HyperparamSchema.from_yaml(schema_file).fit(table) if schema_file else gm_schema(table)
    elif data is not None:
        from .archstats import render_label_table

        table, schema = render_label_table(data)
        if schema_file:
            schema = HyperparamSchema.from_yaml(schema_file).fit(table)
    else:
        raise SrprintError("give --gm-labels DIR or --data DIR")
    if printed_as_json({"n_models": len(table), "schema": schema.to_dict()}, as_json):
        return
    stdout.print(f"{len(table)} models", highlight=False)
    for t in schema.targets:
        extra = (
            f"range [{t.lo:g}, {t.hi:g}]{' (log10)' if t.log else ''}"
            if t.kind == "continuous"
            else f"classes {t.classes}" + (f" hierarchy {t.hierarchy}" if t.hierarchy else "")
        )
        stdout.print(f"{t.name:22s} {t.kind:11s} {extra}", highlight=False)


# ------------------------------------------------------------------------------------------------ fen


@fen_app.command("train")
@fen_options
def fen_train(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder"),
    holdout: str | None = typer.Option(None, "--holdout", help="KEY=VALUE: leave these models out of training"),
    where: str | None = typer.Option(None, "--where", help="Manifest filter applied first"),
    no_fingerprint: bool = typer.Option(False, "--no-fingerprint", help="Baseline: fingerprint losses off"),
    shuffle_seed: int | None = typer.Option(None, "--shuffle-labels", help="Baseline: random ground truth (seed)"),
    fen: Any = None,  # FenPnConfig, from @fen_options
    device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Train FEN + PN end to end on the trained models of a render (resumes; skips a finished run)."""
    from ..render.manifest import RenderedDataset
    from .archstats import render_label_table
    from .fenpn_train import train_fen_pn

    table, schema = render_label_table(data, where)
    models = sorted(table["model_id"])
    if holdout:
        from .heldout import parse_holdout

        key, value = parse_holdout(holdout)
        held = set(table.loc[table[key].astype(str) == value, "model_id"])
        if not held:
            raise SrprintError(f"--holdout {holdout}: no trained model has {key} {value!r}")
        models = [m for m in models if m not in held]
        if not models:
            raise SrprintError(f"--holdout {holdout} leaves no model to train on")
    cfg = dataclasses.replace(fen, fingerprint_losses=not no_fingerprint)
    ds = RenderedDataset.open(data, where)
    run = train_fen_pn(
        ds.root, ds.frame, table, schema=schema, train_models=models, out=out, cfg=cfg, device=device,
        label_shuffle_seed=shuffle_seed
    )
    if printed_as_json({"run": str(run), "train_models": models}, as_json):
        return
    stdout.print(f"FEN+PN trained on {len(models)} models: {run}")


@fen_app.command("eval")
def fen_eval(
    run: Path = typer.Argument(..., help="FEN+PN run folder"),
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    split: str = typer.Option("test", "--split", help="Split scored for the training models"),
    device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Score a run: parsing of models it never saw (all images) and of its training models (SPLIT), detection
    AUC, attribution accuracy; figures of fingerprints, spectra and their cosine similarity in RUN/."""
    from .fenpn_eval import evaluate_fen_run

    res = evaluate_fen_run(run, data, split=split, device=device)
    if printed_as_json(res, as_json):
        return
    for name in ("unseen", "seen"):
        if name in res:
            s = res[name]["1"]
            stdout.print(
                f"{name} models (1 image): L1 {s.get('l1', float('nan')):.3f}  F1 discrete "
                f"{s['f1_discrete']:.3f}  coarse loss {s['f1_coarse']:.3f}  fine loss {s['f1_fine']:.3f}"
            )
    stdout.print(
        f"real-vs-generated AUC {res['detection_auc']:.3f}; attribution accuracy "
        f"{res['attribution_accuracy']:.3f}; figures in {run}"
    )


@fen_app.command("cv")
@fen_options
def fen_cv(
    data: Path = typer.Option(..., "--data", help="Rendered dataset folder"),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder"),
    folds: int = typer.Option(3, "--folds", help="Leave-models-out folds"),
    variant: list[str] = typer.Option(None, "--variant", help="fen | nofp | randomgt (default: all)"),
    shuffles: int = typer.Option(3, "--shuffles", help="Random-ground-truth shuffles averaged"),
    fen: Any = None,  # FenPnConfig, from @fen_options
    device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Leave-models-out cross-validation of FEN+PN vs the no-fingerprint and random-ground-truth baselines."""
    from ..render.manifest import RenderedDataset
    from .archstats import render_label_table
    from .fenpn_eval import run_fen_cv
    from .pn import VARIANTS

    table, schema = render_label_table(data)
    ds = RenderedDataset.open(data)
    cfg = fen
    res = run_fen_cv(
        ds.root,
        ds.frame,
        table,
        schema=schema,
        out=out,
        cfg=cfg,
        n_folds=folds,
        variants=tuple(variant or VARIANTS),
        n_shuffles=shuffles,
        device=device,
        seed=cfg.seed,
    )
    print_markdown_or_json(res, out / "cv.md", as_json=as_json)


@fen_app.command("predict")
def fen_predict(
    run: Path = typer.Argument(..., help="FEN+PN run folder"),
    image: Path = typer.Argument(..., help="Image or folder of images (assumed from one source)"),
    device: str = DeviceOpt, as_json: bool = JsonOpt,
) -> None:
    """Parse the hyperparameters of the model behind an image / a folder (mean / majority vote)."""
    from .fenpn_eval import predict_folder

    res = predict_folder(run, image, device)
    if printed_as_json(res, as_json):
        return
    for k, v in res["aggregate"].items():
        stdout.print(f"{k:16s} {v}", highlight=False)
    stdout.print(f"({res['n_images']} images, {len(res['skipped'])} skipped)")


def register(app: typer.Typer) -> None:
    app.add_typer(parse_app, name="parse")
    app.add_typer(fen_app, name="fen")
