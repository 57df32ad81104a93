"""The classifier engine's configuration and run folder (see :mod:`srprint.classify` for the layout)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from ..config import dataclass_from_dict
from ..errors import SrprintError
from .inputs import DCT_EPS

RUN_FORMAT = "srprint-classifier-run/2"  # /2: input representation (``input``) added


CONFIG_FILE, CLASSES_FILE, STATE_FILE, HISTORY_FILE, METRICS_FILE = (
    "config.yaml",
    "classes.json",
    "state.pt",
    "history.json",
    "metrics.json",
)


class RunError(SrprintError):
    """A run folder is missing, half-written, from another version or holds a different run."""


@dataclass
class ClassifierConfig:
    """Hyper-parameters of one classifier run (everything that changes the numbers)."""

    backbone: str = "convnext_atto"
    input: str = "dct"
    crop: int = 128
    batch_size: int = 16
    head_epochs: int = 3
    full_epochs: int = 15
    lr: float = 5e-4
    optimizer: str = "adamax"
    seed: int = 0
    patience: int = 3
    num_workers: int = 0
    max_per_class: int | None = None
    init: str | None = None
    # share of training images JPEG-recompressed (quality uniform in [jpeg_quality_min, 100]) before
    # cropping: the log-DCT input is otherwise wrecked by web recompression (measured: a seed-triplet
    # classifier fell from 100 % to 51 % at JPEG q=90 without it). On the 60-model mini render,
    # 90 % at quality 85-100 (20 epochs) vs 50 % at 65-100 (6 epochs): same clean accuracy (98.4 %),
    # q=90 drop 14.5 vs 40.2 pts, open-set AUROC 0.941 vs 0.933, centre crops (bench/results/
    # attribution_mini.md; the 50 % run is that file at commit af44445)
    jpeg_augment: float = 0.9
    jpeg_quality_min: int = 85
    crop_align: int = 8  # crop corners on the 8-pixel grid (see :func:`crop_array`)
    # floor of log(|DCT| + eps) (pixels in [-1, 1]): JPEG zeroes the weakest coefficients, and a higher
    # floor keeps them from dominating the standardised input (measured on 15 seed-triplet models,
    # 5 epochs: eps 1e-3 -> 1e-2 raised JPEG q=90 accuracy from 59 % to 61 %, q=95 from 68 % to 74 %)
    dct_eps: float = DCT_EPS

    def __post_init__(self) -> None:
        # checked here so the CLI, benchmarks, YAML reruns and library calls all refuse the same values
        if not 0.0 <= self.jpeg_augment <= 1.0:
            raise SrprintError(
                f"jpeg_augment (--jpeg-augment) is a share of images, between 0 and 1; got {self.jpeg_augment}"
            )
        if not 1 <= self.jpeg_quality_min <= 100:
            raise SrprintError(
                f"jpeg_quality_min (--jpeg-quality-min) must be a JPEG quality, 1 to 100; got {self.jpeg_quality_min}"
            )

    @property
    def total_epochs(self) -> int:
        return self.head_epochs + self.full_epochs


def _run_file(run: Path, name: str, missing: str) -> Path:
    """``run / name``, or a :class:`RunError` with the message ``missing`` when it is not a file."""
    path = run / name
    if not path.is_file():
        raise RunError(missing)
    return path


def read_run_config(run: Path) -> dict[str, Any]:
    """``config.yaml`` of a run, validated (clear error for missing / foreign / half-written runs).

    Raises
    ------
    RunError
        On: "run folder not found: …"; or "corrupt config (…)".
    """
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"run folder not found: {run}")
    path = _run_file(run, CONFIG_FILE, f"{run} is not a classifier run (no {CONFIG_FILE})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RunError(f"{path}: corrupt config ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise RunError(f"{run}: unsupported run format {found!r} (this srprint reads {RUN_FORMAT})")
    return data


def config_from_run(data: dict[str, Any]) -> ClassifierConfig:
    fields = dict(data.get("classifier", {}))
    fields.setdefault("dct_eps", 1e-3)  # runs written before the field existed used 1e-3
    return dataclass_from_dict(ClassifierConfig, fields, where="config.yaml classifier")


def run_is_complete(run: Path) -> bool:
    p = Path(run) / METRICS_FILE
    if not p.is_file():
        return False
    try:
        return bool(json.loads(p.read_text()).get("complete"))
    except (json.JSONDecodeError, OSError):
        return False


def load_state(run: Path) -> dict[str, Any]:
    path = _run_file(run, STATE_FILE,
                     f"{run}: half-written run (no {STATE_FILE}); rerun `srprint attribute train` to resume it")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt / foreign file
        raise RunError(f"{path}: corrupt or foreign checkpoint ({type(exc).__name__})") from exc


def read_classes(run: Path) -> list[str]:
    path = _run_file(run, CLASSES_FILE, f"{run}: half-written run (no {CLASSES_FILE})")
    try:
        classes = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: corrupt class list") from exc
    if not isinstance(classes, list) or len(classes) < 2:
        raise RunError(f"{path}: expected a list of at least two class names")
    return [str(c) for c in classes]


def read_run(run: Path, *, require_complete: bool = True
             ) -> tuple[dict[str, Any], ClassifierConfig, list[str], dict[str, Any]]:
    """Everything a run folder holds: its config record, classifier config, classes and last state.

    Raises
    ------
    RunError
        Missing, foreign-format, half-written (``require_complete``: training not finished) or
        corrupt runs.
    """
    data = read_run_config(run)
    if require_complete and not run_is_complete(run):
        raise RunError(
            f"{run}: training is not finished (no complete {METRICS_FILE}); rerun the train command "
            "to resume it"
        )
    return data, config_from_run(data), read_classes(run), load_state(run)
