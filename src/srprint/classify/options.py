"""Command-line options of the classifier engine, shared by ``srprint attribute`` and ``srprint parse``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..cli_common import config_options, positive_float
from .tiles import DEFAULT_TILES

if TYPE_CHECKING:  # the engine imports torch: keep CLI start-up light
    from .run_folder import ClassifierConfig

BackboneOpt = typer.Option(
    "convnext_atto", "--backbone", help="timm backbone, no pretrained weights: convnext_atto|...|resnet50"
)
InputOpt = typer.Option("dct", "--input", help="What the backbone sees: dct (log-DCT spectrum) | rgb (pixels)")
CropOpt = typer.Option(128, "--crop", min=8, max=4096, help="Crop side (CPU 128; the backbone's native size on GPU)")
BatchOpt = typer.Option(16, "--batch-size", min=1, max=4096, help="Images per training step")
HeadEpochsOpt = typer.Option(3, "--head-epochs", min=0, max=10_000, help="Epochs training the new head alone")
EpochsOpt = typer.Option(15, "--epochs", min=0, max=10_000, help="Epochs training everything afterwards")
LrOpt = typer.Option(5e-4, "--lr", callback=positive_float(maximum=10.0), help="AdamW learning rate")
SeedOpt = typer.Option(0, "--seed", min=0, help="Random seed (same seed and config, same numbers)")
MaxPerClassOpt = typer.Option(None, "--max-per-class", min=1, help="Cap training images per class")
PatienceOpt = typer.Option(3, "--patience", min=0, help="Early stop after N full epochs without val improvement")
JpegAugmentOpt = typer.Option(
    None, "--jpeg-augment", min=0.0, max=1.0,
    help="Share of training images JPEG-recompressed first (default 0.9; 0 = off)"
)
JpegQualityMinOpt = typer.Option(
    None, "--jpeg-quality-min", min=1, max=100,
    help="Lowest quality of that recompression (uniform up to 100; default 85)"
)
TilesOpt = typer.Option(
    DEFAULT_TILES,
    "--tiles",
    min=1,
    max=16,
    help="Score a k x k grid of crops per image and average them (1 = centre crop only, the study's protocol)",
)


def config_from_options(
    backbone: str,
    input_kind: str,
    crop: int,
    *, batch_size: int,
    head_epochs: int,
    epochs: int,
    lr: float,
    seed: int,
    max_per_class: int | None,
    patience: int,
    workers: int = 0,
    init: Path | None = None,
    jpeg_augment: float | None = None,
    jpeg_quality_min: int | None = None,
) -> ClassifierConfig:
    """A :class:`ClassifierConfig` from command-line values, checked before any work starts.

    Raises
    ------
    SrprintError
        On: "unknown --input …; known: …".
    """
    from ..errors import SrprintError
    from .backbones import get_backbone
    from .inputs import INPUT_KINDS
    from .run_folder import ClassifierConfig

    get_backbone(backbone)
    if input_kind not in INPUT_KINDS:
        raise SrprintError(f"unknown --input {input_kind!r}; known: {', '.join(INPUT_KINDS)}")
    jpeg = {"jpeg_augment": jpeg_augment, "jpeg_quality_min": jpeg_quality_min}
    return ClassifierConfig(
        **{k: v for k, v in jpeg.items() if v is not None},
        backbone=backbone,
        input=input_kind,
        crop=crop,
        batch_size=batch_size,
        head_epochs=head_epochs,
        full_epochs=epochs,
        lr=lr,
        seed=seed,
        patience=patience,
        num_workers=workers,
        max_per_class=max_per_class,
        init=str(init.resolve()) if init else None,
    )


# the engine options every classifier-training command takes: parameter -> (type, typer option)
CLASSIFIER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "backbone": (str, BackboneOpt),
    "input_kind": (str, InputOpt),
    "crop": (int, CropOpt),
    "batch_size": (int, BatchOpt),
    "head_epochs": (int, HeadEpochsOpt),
    "epochs": (int, EpochsOpt),
    "lr": (float, LrOpt),
    "seed": (int, SeedOpt),
    "max_per_class": (int | None, MaxPerClassOpt),
    "patience": (int, PatienceOpt),
}


def classifier_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the engine's options; it receives them as one ``classifier`` config.

    The wrapped command declares ``classifier: ClassifierConfig``; its signature, as typer reads
    it, gains the options of :data:`CLASSIFIER_OPTIONS` after its own.

    Raises
    ------
    SrprintError
        From :func:`config_from_options`, before the command runs, for an unknown backbone or input.
    """
    return config_options("classifier", CLASSIFIER_OPTIONS, config_from_options)(command)
