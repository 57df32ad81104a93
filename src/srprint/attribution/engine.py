"""The one classifier-training engine (attribution, held-out parsers and FEN heads reuse it).

A *run* is a folder::

    RUN/config.yaml     format, label, data/where/holdout (when known) and the ClassifierConfig
    RUN/classes.json    class names, in logit order
    RUN/state.pt        last completed epoch: weights, optimiser, best weights, early-stop state
                        (plain tensors/numbers only: loaded with ``torch.load(weights_only=True)``)
    RUN/history.json    one record per completed epoch (loss, train/val accuracy)
    RUN/metrics.json    written last; ``complete: true`` marks a finished run

Training recipe (the reference study's, as configurable defaults): timm backbone with a fresh head,
fed the crop's log-DCT spectrum by default (``input="dct"``; see :mod:`.inputs` for why);
head alone for ``head_epochs``, then everything for ``full_epochs``; Adamax, lr 5e-4, batch 16;
random crops for training, centre crops for evaluation; early stop on validation accuracy.

Images smaller than the crop are **padded by reflection** (symmetric) up to the crop size, never
refused: SR outputs of small inputs are legitimate evidence, and padding keeps every pixel. Grey and
alpha images are converted to RGB by :func:`srprint.io.images.read_image`.

Every epoch is checkpointed atomically; a killed run resumes from its last completed epoch and ends
with the same weights as an uninterrupted run (crops and shuffles are seeded per epoch).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from ..config import dataclass_from_dict, resolve_device
from ..errors import DatasetError, ImageError, SrprintError
from ..io.images import read_image, to_uint8
from ..progress import make_progress
from .inputs import DCT_EPS, create_classifier_net
from .tiles import pad_to, tile_crops

RUN_FORMAT = "srprint-classifier-run/2"  # /2: input representation (``input``) added
# decoded uint8 images a dataset keeps in memory: a byte budget, not an image count, so a render of
# large images cannot exhaust RAM (1 GiB holds about 9700 192 px images; the rest are re-read)
DECODED_CACHE_BYTES = 1 << 30
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


# --------------------------------------------------------------------------------------------- data


def crop_array(arr: np.ndarray, size: int, rng: np.random.Generator | None, align: int = 1) -> np.ndarray:
    """Random crop (``rng`` given) or centre crop of ``size x size``, padding small images first.

    With ``align > 1`` the crop's corner lies on multiples of ``align`` (8: the JPEG block grid, which
    is also a multiple of every SR scale's period), so periodic traces keep one phase in every crop.
    """
    arr = pad_to(arr, size)
    h, w = arr.shape[:2]
    if rng is None:
        top, left = (h - size) // 2 // align * align, (w - size) // 2 // align * align
    else:
        top = int(rng.integers(0, (h - size) // align + 1)) * align
        left = int(rng.integers(0, (w - size) // align + 1)) * align
    return arr[top : top + size, left : left + size]


def to_input(batch: np.ndarray) -> torch.Tensor:
    """uint8/float ``(B, H, W, 3)`` crops -> normalised ``(B, 3, H, W)`` float tensor in ``[-1, 1]``."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
    if batch.dtype == np.uint8:
        x = x / 255.0
    return x * 2.0 - 1.0


class CropDataset(torch.utils.data.Dataset):
    """Images of a frame, cropped: random crops seeded by ``(seed, epoch, index)`` or centre crops.

    ``transform`` (float image -> float image) is applied before cropping (robustness tests).
    With ``cache``, decoded images are kept until ``cache_bytes`` (default
    :data:`DECODED_CACHE_BYTES`) are used.
    """

    def __init__(
        self,
        root: Path,
        paths: list[str],
        targets: list[int],
        crop: int,
        train: bool,
        seed: int = 0,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        cache: bool = False,
        cache_bytes: int | None = None,
        jpeg_augment: float = 0.0,
        jpeg_quality_min: int = 65,
        align: int = 1,
    ) -> None:
        self.root, self.paths, self.targets = Path(root), paths, targets
        self.crop, self.train, self.seed, self.transform = crop, train, seed, transform
        self.jpeg_augment, self.jpeg_quality_min, self.align = jpeg_augment, jpeg_quality_min, align
        self.epoch = 0
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        self._cache_free = DECODED_CACHE_BYTES if cache_bytes is None else int(cache_bytes)

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = read_image(self.root / self.paths[i])
        if self.transform is not None:
            img = self.transform(img)
        img = to_uint8(img)
        if self._cache is not None and img.nbytes <= self._cache_free:
            self._cache[i] = img
            self._cache_free -= img.nbytes
        return img

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        img = self.load(i)
        if rng is not None and self.jpeg_augment > 0 and rng.random() < self.jpeg_augment:
            from .perturb import jpeg

            img = to_uint8(jpeg(img, int(rng.integers(self.jpeg_quality_min, 101))))
        return crop_array(img, self.crop, rng, self.align), self.targets[i]


def _collate(items: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    return to_input(np.stack([a for a, _ in items])), torch.tensor([t for _, t in items], dtype=torch.long)


def _labels_of(df: pd.DataFrame, label: str) -> list[str]:
    if label not in df.columns:
        raise DatasetError(f"label column {label!r} not in the manifest; columns: {', '.join(df.columns)}")
    return [str(v) for v in df[label].tolist()]


def _cap_per_class(df: pd.DataFrame, label: str, cap: int | None, seed: int) -> pd.DataFrame:
    if not cap:
        return df
    parts = [g.sample(n=min(cap, len(g)), random_state=seed) for _, g in df.groupby(df[label].astype(str))]
    return pd.concat(parts).sort_index()


# --------------------------------------------------------------------------------------------- run files


def _head_params(model: nn.Module) -> list[nn.Parameter]:
    return list(model.get_classifier().parameters())


def _make_optimizer(params: list[nn.Parameter], cfg: ClassifierConfig) -> torch.optim.Optimizer:
    name = cfg.optimizer.lower()
    opts: dict[str, Callable[..., torch.optim.Optimizer]] = {
        "adamax": torch.optim.Adamax,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "sgd": torch.optim.SGD,
    }
    if name not in opts:
        raise SrprintError(f"unknown optimizer {cfg.optimizer!r}; known: {', '.join(opts)}")
    return opts[name](params, lr=cfg.lr)


def read_run_config(run: Path) -> dict[str, Any]:
    """``config.yaml`` of a run, validated (clear error for missing / foreign / half-written runs)."""
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"run folder not found: {run}")
    path = run / CONFIG_FILE
    if not path.is_file():
        raise RunError(f"{run} is not a classifier run (no {CONFIG_FILE})")
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


def _load_state(run: Path) -> dict[str, Any]:
    path = run / STATE_FILE
    if not path.is_file():
        raise RunError(
            f"{run}: half-written run (no {STATE_FILE}); rerun `srprint attribute train` to resume it"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt / foreign file
        raise RunError(f"{path}: corrupt or foreign checkpoint ({type(exc).__name__})") from exc


def _read_classes(run: Path) -> list[str]:
    path = run / CLASSES_FILE
    if not path.is_file():
        raise RunError(f"{run}: half-written run (no {CLASSES_FILE})")
    try:
        classes = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: corrupt class list") from exc
    if not isinstance(classes, list) or len(classes) < 2:
        raise RunError(f"{path}: expected a list of at least two class names")
    return [str(c) for c in classes]


def load_classifier(run: str | Path, device: str = "cpu", require_complete: bool = True) -> Classifier:
    """Load the best weights of a run.

    Raises
    ------
    RunError
        Missing, foreign-format, half-written (``require_complete``) or corrupt runs.
    """
    run = Path(run)
    data = read_run_config(run)
    if require_complete and not run_is_complete(run):
        raise RunError(
            f"{run}: training is not finished (no complete {METRICS_FILE}); rerun the train command "
            "to resume it"
        )
    cfg = config_from_run(data)
    classes = _read_classes(run)
    state = _load_state(run)
    dev = resolve_device(device)
    module = create_classifier_net(cfg.backbone, len(classes), cfg.input, cfg.crop, cfg.dct_eps)
    weights = state.get("best_model") or state.get("model")
    try:
        module.load_state_dict(weights, strict=True)
    except (RuntimeError, TypeError) as exc:
        raise RunError(
            f"{run}: weights do not fit backbone {cfg.backbone} ({str(exc).splitlines()[0]})"
        ) from exc
    module.to(dev).eval()
    return Classifier(module, classes, cfg, run, {k: v for k, v in data.items() if k != "classifier"}, dev)


# --------------------------------------------------------------------------------------------- prediction


def predict_frame(
    run_or_classifier: str | Path | Classifier,
    root: Path,
    df: pd.DataFrame,
    device: str = "cpu",
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
    """
    clf = (
        run_or_classifier
        if isinstance(run_or_classifier, Classifier)
        else load_classifier(run_or_classifier, device)
    )
    dev = (
        clf.device
        if isinstance(run_or_classifier, Classifier) and device == "cpu"
        else resolve_device(device)
    )
    clf.module.to(dev).eval()
    label = label or clf.meta.get("label")
    paths = df["path"].tolist()
    labels_all = _labels_of(df, label) if label and label in df.columns else None
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
                    image_crops = tile_crops(ds.load(i), clf.cfg.crop, tiles, clf.cfg.crop_align)
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
