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


# the same options on an argparse parser (the bench scripts): the JPEG ones join the engine's
ARGPARSE_OPTIONS: dict[str, tuple[Any, Any]] = {
    **CLASSIFIER_OPTIONS,
    "jpeg_augment": (float | None, JpegAugmentOpt),
    "jpeg_quality_min": (int | None, JpegQualityMinOpt),
}


def _ranged(kind: type, low: float | None, high: float | None) -> Callable[[str], Any]:
    import argparse

    def parse(text: str) -> Any:
        value = kind(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error
    return parse


def add_classifier_arguments(parser: Any, *, names: tuple[str, ...] | None = None, **defaults: Any) -> None:
    """Add the engine's options to an argparse parser, generated from the typer options of the commands.

    The flags, help texts, ranges and defaults are those of ``srprint attribute train`` (one
    declaration, :data:`CLASSIFIER_OPTIONS`); a bench script passes the defaults it differs in.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser.
    names : tuple of str, optional
        The options to add (keys of :data:`ARGPARSE_OPTIONS`; default: all).
    **defaults : Any
        Defaults that differ from the commands' (by key, e.g. ``crop=96``).

    Raises
    ------
    KeyError
        For an unknown option name.
    """
    import typing

    for name in names or tuple(ARGPARSE_OPTIONS):
        kind, opt = ARGPARSE_OPTIONS[name]
        base = next(t for t in (int, float, str) if t is kind or t in typing.get_args(kind))
        parser.add_argument(*opt.param_decls, type=_ranged(base, opt.min, opt.max) if base is not str else str,
                            default=defaults.get(name, opt.default), help=opt.help)


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
