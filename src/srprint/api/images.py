"""Making images with models: ``super_resolve`` (one image, one model) and ``render`` (a zoo on a corpus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import resolves_device
from .model import Model, ModelZoo, entry_of, zoo_roots
from .results import HIDDEN, Result


@dataclass(frozen=True)
class SuperResolution(Result):
    """The output of one model on one image.

    Attributes
    ----------
    model : str
        The model id.
    scale : int
        Its scale.
    input_shape, output_shape : tuple of int
        ``(H, W, 3)`` of the input and of the output.
    out : Path or None
        The PNG written, if ``out=`` was given.
    image : ndarray
        The output, float32 ``(sH, sW, 3)`` in ``[0, 1]`` (not in ``to_dict``).
    """

    model: str
    scale: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    out: Path | None
    image: np.ndarray = field(repr=False, metadata=HIDDEN)


@resolves_device
def super_resolve(image: str | Path | np.ndarray, *, model: Model | str | Path,
                  zoo: str | Path | ModelZoo | None = None, out: str | Path | None = None,
                  device: str = "auto") -> SuperResolution:
    """Run one model on one image.

    Parameters
    ----------
    image : str, Path or ndarray
        An image file, or an ``(H, W, 3)`` array (float in ``[0, 1]`` or ``uint8``).
    model : Model, str or Path
        A loaded model, an entry folder, or an id with ``zoo``.
    zoo : str, Path or ModelZoo, optional
        The zoo an id is looked up in.
    out : str or Path, optional
        A PNG file to write the output to.
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    SuperResolution
        The output image and its shapes.

    Raises
    ------
    ImageError
        If the image cannot be read.
    SrprintError
        If the model is not found or the image is not ``(H, W, 3)``.
    CheckpointError
        If the model's weights cannot be loaded.

    Examples
    --------
    >>> import numpy as np, srprint
    >>> r = srprint.super_resolve(np.zeros((8, 8, 3)), model=m)  # doctest: +SKIP
    >>> r.output_shape  # doctest: +SKIP
    (16, 16, 3)
    """
    from ..io.images import read_image, write_png

    m = model.to(device) if isinstance(model, Model) else Model.from_entry(entry_of(model, zoo), device=device)
    arr = read_image(image) if isinstance(image, str | Path) else np.asarray(image)
    sr = m(arr)
    if out is not None:
        write_png(Path(out), sr)
    return SuperResolution(m.id, m.scale, tuple(arr.shape), tuple(sr.shape), Path(out) if out else None, sr)


@dataclass(frozen=True)
class Rendering(Result):
    """A rendered dataset: every selected model's output on every corpus photo.

    Attributes
    ----------
    out : Path
        The render folder (PNG files and ``manifest.parquet``).
    summary : dict
        Models, images rendered and skipped, failures, seconds (the CLI's ``--json`` output).
    """

    out: Path
    summary: dict[str, Any]


@resolves_device
def render(zoo: str | Path | ModelZoo, *, corpus: str | Path, out: str | Path | None = None,
           models: str | None = None, jobs: int = 1, device: str = "auto") -> Rendering:
    """Render a zoo on a prepared corpus (resumable: finished images are skipped).

    Parameters
    ----------
    zoo : str, Path or ModelZoo
        The zoo folder.
    corpus : str or Path
        A corpus folder made by ``srprint corpus``.
    out : str or Path, optional
        The render folder (default: under ``$SRPRINT_HOME/renders``, keyed by its config).
    models : str, optional
        A filter of model ids (``--models`` syntax).
    jobs : int
        Parallel jobs.
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Rendering
        The folder and the render summary.

    Raises
    ------
    DatasetError
        If the zoo or corpus is missing, the filter matches nothing, or ``out`` holds another render.
    SrprintError
        If the disk fills or a permission is denied (a rerun resumes).

    Examples
    --------
    >>> r = srprint.render(demo_zoo, corpus="corpus/")  # doctest: +SKIP
    >>> r.summary["rendered"]  # doctest: +SKIP
    """
    from ..render.run import render_dataset

    (root,) = zoo_roots(zoo)
    summary = render_dataset(root, corpus, out, models=models, device=device, jobs=jobs)
    return Rendering(Path(summary.out), summary.to_dict())
