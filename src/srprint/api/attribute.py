"""Which model made these images? ``attribute``: a trained attribution classifier's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classify.tiles import DEFAULT_TILES
from ..config import resolves_device
from .results import Result


@dataclass(frozen=True)
class Attribution(Result):
    """The classifier's top-k per image and the folder's verdict.

    Attributes
    ----------
    verdict : str
        The folder's class (images assumed to come from one source), or ``unknown`` (open set).
    images : tuple of dict
        Per image: ``path``, ``top`` (class, prob), ``verdict``, ``known_score``.
    aggregate : dict
        ``n``, ``top`` (class, mean log-probability), ``verdict`` and, when calibrated, ``known_score``.
    run : Path
        The classifier run.
    label : str or None
        What the classifier's classes are (``model`` for attribution).
    skipped : tuple of str
        Unreadable files.
    """

    verdict: str
    images: tuple[dict[str, Any], ...]
    aggregate: dict[str, Any]
    run: Path
    label: str | None
    skipped: tuple[Any, ...]


def one_target(images: str | Path | Sequence[str | Path]) -> Path:
    """The one file or folder a classifier command reads.

    Parameters
    ----------
    images : str, Path or a one-item sequence of them
        An image file or a folder of images.

    Returns
    -------
    Path
        The target.

    Raises
    ------
    SrprintError
        If a sequence of more than one path is given.
    """
    from ..errors import SrprintError

    if isinstance(images, str | Path):
        return Path(images)
    items = list(images)
    if len(items) != 1:
        raise SrprintError("give one image file or one folder of images (put several images in a folder)")
    return Path(items[0])


@resolves_device
def attribute(images: str | Path | Sequence[str | Path], *, run: str | Path, top_k: int = 3,
              tiles: int = DEFAULT_TILES, openset_method: str | None = None, device: str = "auto") -> Attribution:
    """Attribute an image, or a folder of images from one source, to a model of the classifier's zoo.

    Parameters
    ----------
    images : str or Path
        An image file or a folder of images.
    run : str or Path
        An attribution classifier run (``srprint attribute train``).
    top_k : int
        How many classes to list per image.
    tiles : int
        Each image is scored on a ``tiles x tiles`` grid of crops (1: centre crop only).
    openset_method : str, optional
        The open-set score behind ``unknown`` (default: the run's calibrated one).
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Attribution
        The verdict, and the top-k of every image.

    Raises
    ------
    DatasetError
        If the file is not an image, or the path does not exist.
    RunError
        If ``run`` is not a complete classifier run.

    Examples
    --------
    >>> r = srprint.attribute("suspect.png", run="runs/attribution")  # doctest: +SKIP
    >>> r.verdict  # doctest: +SKIP
    'EDSR-skimage-x2-L1-s1'
    """
    from ..attribution.predict import predict_images

    res = predict_images(run, one_target(images), top_k=top_k, device=device, openset_method=openset_method,
                         tiles=tiles)
    return Attribution(res["aggregate"]["verdict"], tuple(res["images"]), res["aggregate"], Path(res["run"]),
                       res.get("label"), tuple(res.get("skipped", ())))
