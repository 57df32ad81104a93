"""Helpers shared by the attribution benchmark protocols (:mod:`.protocol`, :mod:`.backbones_protocol`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DatasetError, SrprintError

if TYPE_CHECKING:  # the engine (torch) is imported only when a config is built
    from ..classify.run_folder import ClassifierConfig

# protocol option -> ClassifierConfig field (the rest of ClassifierConfig keeps its defaults)
_CLASSIFIER_FIELDS = {
    "backbone": "backbone", "input": "input", "crop": "crop", "batch_size": "batch_size",
    "head_epochs": "head_epochs", "full_epochs": "epochs", "lr": "lr", "max_per_class": "max_per_class",
    "jpeg_augment": "jpeg_augment", "jpeg_quality_min": "jpeg_quality_min", "dct_eps": "dct_eps",
    "patience": "patience",
}


def classifier_config(options: Any, **fields: Any) -> ClassifierConfig:
    """The engine's ClassifierConfig of a protocol's (or an argparse namespace's) options, plus ``fields``.

    Options ``options`` does not define, or leaves ``None``, keep the library's defaults.

    Raises
    ------
    SrprintError
        From :class:`~srprint.classify.run_folder.ClassifierConfig` for an out-of-range JPEG option.
    """
    from ..classify.run_folder import ClassifierConfig

    values = {k: getattr(options, a) for k, a in _CLASSIFIER_FIELDS.items() if getattr(options, a, None) is not None}
    return ClassifierConfig(**{**values, **fields})


def require_render(data: str | Path | None, what: str) -> Path:
    """``data`` resolved, when it is a rendered dataset (has ``manifest.parquet``).

    Raises
    ------
    DatasetError
        If ``data`` is None or holds no manifest.
    """
    if data is None or not (Path(data) / "manifest.parquet").is_file():
        raise DatasetError(
            f"{what} needs a render, and {data or 'none was given'} is not one (no manifest.parquet): run "
            "`srprint zoo train --preset mini` then `srprint render` on that zoo"
        )
    return Path(data).resolve()


def stage_render(ctx: Any, what: str) -> Path:
    """The render folder of a study's render stage (``ctx.results['render']['render']``).

    Raises
    ------
    SrprintError
        If the render stage has not run or its folder holds no render.
    """
    render = (ctx.results.get("render") or {}).get("render")
    if not render or not (Path(render) / "manifest.parquet").is_file():
        raise SrprintError(f"{what} needs the render stage's dataset (ctx.results['render']['render']); "
                           "run the render stage first")
    return Path(render).resolve()
