"""Command-line options of FEN + PN (``srprint fen train`` and ``fen cv``), and the config they build."""

from __future__ import annotations

from typing import Any

import typer

from ..classify.options import BatchOpt, SeedOpt
from ..cli_common import config_options


def fen_config(*, depth: int, width: int, **same: Any) -> Any:
    """The :class:`~srprint.parsing.pn.FenPnConfig` of the ``fen`` commands' options.

    Parameters
    ----------
    depth, width : int
        The FEN's blocks and channels (``--depth``, ``--width``).
    **same : Any
        The options whose names are the config's fields.

    Returns
    -------
    FenPnConfig
        The config.

    Raises
    ------
    SrprintError
        If the config refuses a value.
    """
    from .pn import FenPnConfig

    return FenPnConfig(fen_depth=depth, fen_width=width, **same)


FenCrop = typer.Option(64, "--crop", min=8, max=1024, help="Crop side the FEN sees (px)")
FenDepth = typer.Option(15, "--depth", min=1, max=200, help="conv-BN-ReLU blocks of the FEN (paper 15)")
FenWidth = typer.Option(64, "--width", min=1, max=4096, help="FEN channels (paper 64)")
PnWidth = typer.Option(32, "--pn-width", min=1, max=4096, help="PN encoder base channels")
FenEpochs = typer.Option(10, "--epochs", min=1, max=10_000, help="Training epochs")
FenK = typer.Option(None, "--k", help="Low-frequency window (default: 50 px scaled to the crop)")
PnInput = typer.Option(
    "fingerprint", "--pn-input", help="What the PN sees: fingerprint (paper) | spectrum (its log-magnitude spectrum)"
)
LossScale = typer.Option(
    "pixel", "--loss-scale", help="Fingerprint-loss scale: pixel (per-pixel units) | dft (as the authors' code)"
)
MaxPerModel = typer.Option(None, "--max-per-class", min=1, help="Cap training images per model (class)")


# the FEN+PN options of `fen train` and `fen cv`: parameter -> (type, typer option)
FEN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "crop": (int, FenCrop), "depth": (int, FenDepth), "width": (int, FenWidth), "pn_width": (int, PnWidth),
    "epochs": (int, FenEpochs), "batch_size": (int, BatchOpt), "seed": (int, SeedOpt),
    "max_per_model": (int | None, MaxPerModel), "k": (int | None, FenK), "pn_input": (str, PnInput),
    "loss_scale": (str, LossScale),
}
fen_options = config_options("fen", FEN_OPTIONS, fen_config)
