"""Which zoo model made this image, if any? ``trace``: inversion through every candidate model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import resolves_device
from .model import ModelZoo, zoo_roots
from .results import Result


@dataclass(frozen=True)
class Trace(Result):
    """The trace verdict of an image (or of a folder of images from one source).

    Attributes
    ----------
    verdict : str
        For one image its verdict, for several the folder's (``made by``, ``none of these models``,
        ``undecided``, ...).
    model : str or None
        The model the image was traced to, if any.
    explanation : str
        One sentence on why.
    images : tuple of dict
        Per image: ``path``, ``verdict``, ``model``, ``explanation`` and its ``candidates`` (id, residual,
        ratio to the 8-bit floor, p-value), best first.
    skipped : tuple of dict
        Files not traced (``path``, ``reason``).
    aggregate : dict or None
        The folder's verdict (``n``, ``agree``, ``verdict``, ``model``) for several images.
    """

    verdict: str
    model: str | None
    explanation: str
    images: tuple[dict[str, Any], ...]
    skipped: tuple[dict[str, Any], ...]
    aggregate: dict[str, Any] | None


def _files(images: str | Path | Sequence[str | Path]) -> list[Path]:
    from ..errors import SrprintError
    from ..io.images import IMAGE_SUFFIXES, list_images

    targets = [Path(images)] if isinstance(images, str | Path) else [Path(p) for p in images]
    files: list[Path] = []
    for t in targets:
        if t.is_dir():
            files += list_images(t)
        elif not t.is_file():
            raise SrprintError(f"image or folder not found: {t}")
        elif t.suffix.lower() not in IMAGE_SUFFIXES:
            raise SrprintError(f"{t}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
        else:
            files.append(t)
    if not files:
        raise SrprintError(f"no image in {', '.join(map(str, targets))}")
    return files


@resolves_device
def trace(images: str | Path | Sequence[str | Path], *, zoo: str | Path | ModelZoo | Sequence[str | Path | ModelZoo],
          run: str | Path | None = None, top: int = 3, models: str | None = None, crop: int | None = None,
          steps: int | None = None, alpha: float = 1e-3, device: str = "auto") -> Trace:
    """Trace an image to the zoo model that made it, or to none, by inverting every candidate.

    Each candidate model that fits the image's size is inverted (gradient descent on its input) until
    its output matches the image; a made image is reproduced down to its 8-bit rounding floor, and the
    ratio is tested against the same model's ratios on real photos.

    Parameters
    ----------
    images : str, Path or sequence of them
        Image files and/or folders (a folder's images are assumed to come from one source).
    zoo : str, Path, ModelZoo or a sequence of them
        The zoo(s) whose models are the candidates.
    run : str or Path, optional
        An attribution classifier run: its ``top`` classes per image are inverted first, the other
        candidates only when none of them is confirmed.
    top : int
        With ``run``: how many classes to keep.
    models : str, optional
        Only candidates whose id contains one of these comma-separated patterns.
    crop : int, optional
        The side of the window that is inverted (default: the library's; the window bicubic starts worst on,
        inside the centred region of twice that side).
    steps : int, optional
        Inversion steps (default: the library's).
    alpha : float
        The test's significance level (a PNG's candidate is named below ``alpha`` times
        ``TraceSettings.pixel_level``, 1e-2: the photo null is too lenient on images other models made).
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Trace
        The verdict, the model and every candidate's evidence.

    Raises
    ------
    SrprintError
        If an image or zoo is missing, ``models`` matches no model id, or nothing could be traced (no
        candidate fits any image).

    Examples
    --------
    >>> r = srprint.trace("made.png", zoo=demo_zoo)  # doctest: +SKIP
    >>> r.verdict, r.model  # doctest: +SKIP
    ('made by', 'EDSR-skimage-x2-L1-s1')
    """
    from ..attribution.trace import TraceSettings
    from ..attribution.trace_batch import trace_files, zoo_entries

    defaults = TraceSettings()
    settings = TraceSettings(crop=crop or defaults.crop, steps=steps or defaults.steps)
    files = _files(images)
    entries = zoo_entries(zoo_roots(zoo), models=models)
    shortlists = None
    if run is not None:  # the classifier (pandas, timm) is imported only when it is asked for
        from ..attribution.predict import shortlists as top_classes

        shortlists = top_classes(Path(run), files, top=top, device=device)
    out = trace_files(files, entries, shortlists=shortlists, models=models, settings=settings, alpha=alpha,
                      device=device)
    agg = out.get("aggregate")
    head = agg or out["images"][0]
    why = (f"{agg['agree']} of {agg['n']} traced images name {agg['model'] or 'one model'}" if agg
           else head["explanation"])
    return Trace(head["verdict"], head.get("model"), why, tuple(out["images"]), tuple(out["skipped"]), agg)
