"""Model attribution: which SR model made this image? (CNN classifier, open set, PRNU baseline)."""

from .backbones import create_backbone, list_backbones, register_backbone
from .engine import (
    Classifier,
    ClassifierConfig,
    Predictions,
    RunError,
    load_classifier,
    predict_frame,
    train_classifier,
    train_run,
)

__all__ = [
    "Classifier",
    "ClassifierConfig",
    "Predictions",
    "RunError",
    "create_backbone",
    "list_backbones",
    "load_classifier",
    "predict_frame",
    "register_backbone",
    "train_classifier",
    "train_run",
]
