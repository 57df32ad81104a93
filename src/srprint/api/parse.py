"""How was the model that made these images built? ``parse``: a held-out parser's prediction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classify.tiles import DEFAULT_TILES
from ..config import resolves_device
from .attribute import one_target
from .results import Result


@dataclass(frozen=True)
class Parsing(Result):
    """A parser's prediction of one hyperparameter (loss, architecture, scale, ...) of the source model.

    Attributes
    ----------
    prediction : str
        The folder's value (highest mean probability over its images).
    label : str or None
        The hyperparameter the parser predicts.
    classes : tuple of str
        Its possible values.
    images : tuple of dict
        Per image: ``path``, ``prediction``, ``probs``.
    aggregate : dict
        ``mean_probs``, ``mean_prediction``, ``majority_vote``, ``n_images``.
    run : Path
        The parser run.
    """

    prediction: str
    label: str | None
    classes: tuple[str, ...]
    images: tuple[dict[str, Any], ...]
    aggregate: dict[str, Any]
    run: Path


@resolves_device
def parse(images: str | Path | Sequence[str | Path], *, run: str | Path, tiles: int = DEFAULT_TILES,
          device: str = "auto") -> Parsing:
    """Predict one hyperparameter of the model that made an image (or a folder from one source).

    Parameters
    ----------
    images : str or Path
        An image file or a folder of images.
    run : str or Path
        A parser run (``srprint parse train``; its label is the hyperparameter).
    tiles : int
        Each image is scored on a ``tiles x tiles`` grid of crops.
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Parsing
        The prediction and the per-image probabilities.

    Raises
    ------
    SrprintError
        If the image or folder does not exist.
    RunError
        If ``run`` is not a complete classifier run.

    Examples
    --------
    >>> r = srprint.parse("suspect.png", run="runs/parse-loss")  # doctest: +SKIP
    >>> r.label, r.prediction  # doctest: +SKIP
    ('loss', 'L1')
    """
    from ..parsing.predict import predict_images

    res = predict_images(run, one_target(images), device=device, tiles=tiles)
    agg = res["aggregate"]
    return Parsing(agg["mean_prediction"], res.get("label"), tuple(res["classes"]), tuple(res["images"]), agg,
                   Path(res["run"]))
