"""The classifier engine's trained classifier, loaded from a run folder, and its predictions on a frame."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import resolves_device
from ..errors import ImageError
from ..progress import make_progress
from .data import CropDataset, labels_of, to_input
from .inputs import create_classifier_net
from .run_folder import ClassifierConfig, RunError, read_run
from .tiles import tile_crops


@dataclass
class Classifier:
    """A trained classifier: the module, its class names and its config."""

    module: nn.Module
    classes: list[str]
    cfg: ClassifierConfig
    run: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"


@dataclass
class Predictions:
    """Outputs on a frame: class probabilities, penultimate features and (when known) true labels.

    ``paths`` are the rows actually predicted (unreadable images are dropped when ``skip_errors``;
    they are listed in ``skipped``) and ``rows`` their index in the input frame.
    """

    classes: list[str]
    probs: np.ndarray
    features: np.ndarray
    labels: list[str] | None = None
    paths: list[str] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    skipped: list[str] = field(default_factory=list)

    @property
    def pred(self) -> list[str]:
        return [self.classes[i] for i in self.probs.argmax(1)] if len(self.probs) else []

    @property
    def accuracy(self) -> float:
        if not self.labels:
            return float("nan")
        return float(np.mean([p == t for p, t in zip(self.pred, self.labels, strict=True)]))


@resolves_device
def load_classifier(run: str | Path, device: str = "cpu", require_complete: bool = True) -> Classifier:
    """Load the best weights of a run.

    Raises
    ------
    RunError
        Missing, foreign-format, half-written (``require_complete``) or corrupt runs.
    """
    run = Path(run)
    data, cfg, classes, state = read_run(run, require_complete=require_complete)
    dev = device
    module = create_classifier_net(cfg.backbone, len(classes), cfg.input, crop=cfg.crop, eps=cfg.dct_eps)
    weights = state.get("best_model") or state.get("model")
    try:
        module.load_state_dict(weights, strict=True)
    except (RuntimeError, TypeError) as exc:
        raise RunError(
            f"{run}: weights do not fit backbone {cfg.backbone} ({str(exc).splitlines()[0]})"
        ) from exc
    module.to(dev).eval()
    return Classifier(module, classes, cfg, run, {k: v for k, v in data.items() if k != "classifier"}, dev)


@resolves_device
def predict_frame(
    run_or_classifier: str | Path | Classifier,
    root: Path,
    df: pd.DataFrame,
    *, device: str = "cpu",
    batch_size: int = 32,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    skip_errors: bool = False,
    label: str | None = None,
    tiles: int = 1,
) -> Predictions:
    """Predictions (softmax probabilities + penultimate features) for every row of ``df``.

    ``tiles=1`` scores the centre crop (the study's protocol). ``tiles=k`` scores a ``k x k`` grid of
    crops spread over the image (:func:`tile_crops`) and averages them per image, log-probabilities
    for the class scores (as for a folder from one source) and features for the embedding: a 192 px
    image holds nine 64 px crops of evidence, and the centre crop alone uses one of them.
    ``transform`` perturbs each decoded image first (JPEG, resize). With ``skip_errors`` unreadable
    images are skipped with a warning (listed in ``Predictions.skipped``) instead of raising.
    ``label`` defaults to the run's label column; labels are returned when ``df`` has it.

    Raises
    ------
    ImageError
        On: "no readable image to predict".
    """
    clf = (
        run_or_classifier
        if isinstance(run_or_classifier, Classifier)
        else load_classifier(run_or_classifier, device)
    )
    dev = (
        clf.device
        if isinstance(run_or_classifier, Classifier) and device == "cpu"
        else device
    )
    clf.module.to(dev).eval()
    label = label or clf.meta.get("label")
    paths = df["path"].tolist()
    labels_all = labels_of(df, label) if label and label in df.columns else None
    ds = CropDataset(
        Path(root), paths, [0] * len(paths), clf.cfg.crop, False, transform=transform, align=clf.cfg.crop_align
    )
    probs, feats, rows, skipped = [], [], [], []
    n_batches = math.ceil(len(paths) / batch_size)
    with torch.no_grad(), make_progress() as prog:
        task = prog.add_task("predicting", total=len(paths))
        for b in range(n_batches):
            crops, counts, idx = [], [], []
            for i in range(b * batch_size, min(len(paths), (b + 1) * batch_size)):
                try:
                    image_crops = tile_crops(ds.load(i), clf.cfg.crop, tiles, align=clf.cfg.crop_align)
                    crops.extend(image_crops)
                    counts.append(len(image_crops))
                    idx.append(i)
                except ImageError as exc:
                    if not skip_errors:
                        raise
                    warnings.warn(f"skipped: {exc}", stacklevel=2)
                    skipped.append(paths[i])
            prog.advance(task, min(len(paths), (b + 1) * batch_size) - b * batch_size)
            if not crops:
                continue
            log_p, f = [], []
            for j in range(0, len(crops), batch_size):  # tiles multiply the batch: keep it bounded
                x = to_input(np.stack(crops[j : j + batch_size])).to(dev)
                ff = clf.module.forward_features(x)
                f.append(clf.module.forward_head(ff, pre_logits=True).float().flatten(1))
                log_p.append(torch.log_softmax(clf.module.forward_head(ff).float(), 1))
            owner = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts)).to(dev)
            n = torch.tensor(counts, dtype=torch.float32, device=dev)[:, None]
            mean_log_p = torch.zeros(len(counts), len(clf.classes), device=dev).index_add_(
                0, owner, torch.cat(log_p)
            ) / n
            mean_f = torch.cat(f)
            mean_f = torch.zeros(len(counts), mean_f.shape[1], device=dev).index_add_(0, owner, mean_f) / n
            probs.append(torch.softmax(mean_log_p, 1).cpu().numpy())
            feats.append(mean_f.cpu().numpy())
            rows.extend(idx)
    if not rows:
        raise ImageError("no readable image to predict" + (f" ({len(skipped)} skipped)" if skipped else ""))
    return Predictions(
        classes=list(clf.classes),
        probs=np.concatenate(probs),
        features=np.concatenate(feats),
        labels=[labels_all[i] for i in rows] if labels_all is not None else None,
        paths=[paths[i] for i in rows],
        rows=np.asarray(rows, dtype=np.int64),
        skipped=skipped,
    )
