"""Demo stage: a small ConvNeXt attribution classifier and the PRNU baseline on the demo render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..classify.run_folder import ClassifierConfig, run_is_complete
from ..classify.tiles import DEFAULT_TILES
from ..classify.train import train_run
from ..errors import SrprintError
from ..progress import console
from .evaluate import evaluate_run, load_eval
from .prnu import PRNUConfig, evaluate_prnu, fit_prnu

DEMO_CLASSIFIER = ClassifierConfig(
    backbone="convnext_atto",
    crop=64,
    batch_size=16,
    head_epochs=1,
    full_epochs=4,
    lr=1e-3,
    patience=2,
    max_per_class=32,
    # 5 epochs on 32 images per class: too short to learn from mostly recompressed crops
    jpeg_augment=0.5,
    jpeg_quality_min=65,
)
DEMO_PRNU = PRNUConfig(denoiser="wavelet", crop=64, metric="ncc", max_per_class=32)


def demo_stage(ctx: Any) -> dict[str, Any]:
    """Train (or reuse) the demo classifier and PRNU fingerprints; evaluate both on the test split.

    Raises
    ------
    SrprintError
        On: "the attribution demo needs the render stage's dataset (ctx.results['render']['render']); run the
        render stage first".
    """
    render = (ctx.results.get("render") or {}).get("render")
    if not render or not (Path(render) / "manifest.parquet").is_file():
        raise SrprintError(
            "the attribution demo needs the render stage's dataset "
            "(ctx.results['render']['render']); run the render stage first"
        )
    out = Path(ctx.out) / "attribution"
    cnn_run, prnu_run = out / "cnn", out / "prnu"
    cached = run_is_complete(cnn_run) and load_eval(cnn_run, tiles=DEFAULT_TILES) is not None
    train_run(render, cnn_run, DEMO_CLASSIFIER, label="model_id", device=ctx.device)
    cnn = load_eval(cnn_run, tiles=DEFAULT_TILES) if cached else None
    if cnn is None:
        cnn = evaluate_run(cnn_run, split="test", device=ctx.device)
    fit_prnu(render, prnu_run, DEMO_PRNU)
    prnu = load_eval(prnu_run) if cached else None
    if prnu is None:
        prnu = evaluate_prnu(prnu_run, split="test")
    console.print(
        f"attribution (test, {cnn['n']} images, {cnn['n_classes']} models, chance "
        f"{100 * cnn['chance']:.0f} %): ConvNeXt-atto {100 * cnn['overall_acc']:.1f} % "
        f"({cnn.get('tiles', 1)}x{cnn.get('tiles', 1)} crops per image), "
        f"PRNU {100 * prnu['overall_acc']:.1f} %",
        highlight=False,
    )
    sg = cnn.get("seed_groups") or {}
    return {
        "cnn_run": str(cnn_run),
        "prnu_run": str(prnu_run),
        "cnn_acc": cnn["overall_acc"],
        "prnu_acc": prnu["overall_acc"],
        "seed_group_acc": sg.get("mean_acc"),
        "n_test": cnn["n"],
        "cached": cached,
        "figures": cnn.get("figures", {}),
    }
