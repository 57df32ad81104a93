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

import dataclasses
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
from ..io.atomic import atomic_save, atomic_write_json, atomic_write_text
from ..io.images import read_image, to_uint8
from ..progress import make_progress
from .inputs import DCT_EPS, ClassifierNet, create_classifier_net
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


# --------------------------------------------------------------------------------------------- training


def _evaluate_loader(model: nn.Module, loader: torch.utils.data.DataLoader, device: str) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x.to(device)).argmax(1).cpu()
            correct += int((pred == y).sum())
            total += len(y)
    return correct / max(total, 1)


def _set_phase(model: nn.Module, phase: str) -> list[nn.Parameter]:
    head = {id(p) for p in _head_params(model)}
    for p in model.parameters():
        p.requires_grad_(phase == "full" or id(p) in head)
    if phase == "head":  # frozen body: keep its normalisation statistics fixed too
        model.eval()
        model.get_classifier().train()
    else:
        model.train()
    return [p for p in model.parameters() if p.requires_grad]


def _init_from(model_classes: list[str], cfg: ClassifierConfig, device: str) -> ClassifierNet:
    src = load_classifier(Path(cfg.init), device="cpu")  # type: ignore[arg-type]
    for key in ("backbone", "input", "crop", "dct_eps"):
        if getattr(src.cfg, key) != getattr(cfg, key):
            raise SrprintError(
                f"--init run {cfg.init} uses {key} {getattr(src.cfg, key)}, this run {getattr(cfg, key)}"
            )
    module = src.module
    if src.classes != model_classes:
        torch.manual_seed(cfg.seed)
        module.reset_classifier(len(model_classes))  # new classes: a fresh head on the learned body
    return module


def train_classifier(
    root: Path,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    label: str,
    out: Path,
    cfg: ClassifierConfig,
    device: str = "cpu",
    meta: dict[str, Any] | None = None,
    stop_after: int | None = None,
) -> Path:
    """Train (or resume, or skip) a classifier of ``label`` on the rows of ``train_df``.

    Parameters
    ----------
    root : Path
        Dataset root; the frames' ``path`` column is relative to it.
    train_df, val_df : DataFrame
        Manifest rows (see :mod:`srprint.dataset`); ``val_df`` drives early stopping (may be empty).
    label : str
        Column to predict (``model_id``, ``scale``, ``loss``, ``arch``, ``dataset``, ...).
    out : Path
        Run folder (created; resumed when it holds the same run; skipped when complete).
    cfg : ClassifierConfig
        Hyper-parameters.
    meta : dict, optional
        Extra keys written to ``config.yaml`` (data root, filters) so the file re-creates the run.
    stop_after : int, optional
        Stop (resumably) once this many epochs are complete, as if killed (tests, time-boxed jobs).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    DatasetError
        Empty training frame, missing label column or fewer than two classes.
    RunError
        ``out`` holds a different run (other config, label or classes) or a corrupt checkpoint.
    """
    root, out = Path(root), Path(out)
    dev = resolve_device(device)
    if train_df.empty:
        raise DatasetError("no training images (the train split is empty after filtering)")
    train_labels = _labels_of(train_df, label)
    classes = sorted(set(train_labels), key=_class_key)
    if len(classes) < 2:
        raise DatasetError(
            f"the training data has a single {label} class ({classes[0]!r}); attribution needs at least two"
        )
    train_df = _cap_per_class(train_df, label, cfg.max_per_class, cfg.seed)
    train_labels = _labels_of(train_df, label)
    if not val_df.empty:
        val_labels = _labels_of(val_df, label)
        keep = [v in classes for v in val_labels]
        if not all(keep):
            warnings.warn(
                f"{len(keep) - sum(keep)} validation images have {label} classes unseen in training; ignored",
                stacklevel=2,
            )
            val_df = val_df[keep]
    config = {"format": RUN_FORMAT, "label": label, **(meta or {}), "classifier": dataclasses.asdict(cfg)}
    _prepare_run_folder(out, config, classes)
    if run_is_complete(out):
        return out

    index = {c: i for i, c in enumerate(classes)}
    train_ds = CropDataset(
        root,
        train_df["path"].tolist(),
        [index[c] for c in train_labels],
        cfg.crop,
        True,
        cfg.seed,
        cache=True,
        jpeg_augment=cfg.jpeg_augment,
        jpeg_quality_min=cfg.jpeg_quality_min,
        align=cfg.crop_align,
    )
    val_ds = CropDataset(
        root,
        val_df["path"].tolist(),
        [index[c] for c in _labels_of(val_df, label)] if not val_df.empty else [],
        cfg.crop,
        False,
        cache=True,
        align=cfg.crop_align,
    )
    val_loader = torch.utils.data.DataLoader(
        val_ds,
        batch_size=max(cfg.batch_size, 32),
        shuffle=False,
        num_workers=cfg.num_workers,
        collate_fn=_collate,
    )

    state: dict[str, Any] | None = _load_state(out) if (out / STATE_FILE).is_file() else None
    history: list[dict[str, Any]] = json.loads((out / HISTORY_FILE).read_text()) if state else []
    torch.manual_seed(cfg.seed)
    if cfg.init:
        model = _init_from(classes, cfg, dev)  # keeps the source run's spectrum statistics
    else:
        model = create_classifier_net(cfg.backbone, len(classes), cfg.input, cfg.crop, cfg.dct_eps)
        if state is None:
            model.fit_input_stats(_stat_batches(train_ds))
    model.to(dev)
    start, best_acc, best_epoch, bad_epochs = 0, -1.0, -1, 0
    best_model: dict[str, torch.Tensor] | None = None
    if state is not None:
        model.load_state_dict(state["model"])
        start, best_acc, best_epoch = int(state["epoch"]), float(state["best_acc"]), int(state["best_epoch"])
        bad_epochs, best_model = int(state["bad_epochs"]), state["best_model"]
        history = history[:start]
    total = cfg.total_epochs
    stopped_early = state is not None and bool(state.get("stopped_early"))
    with make_progress() as prog:
        task = prog.add_task(f"training {cfg.backbone} on {label}", total=total, completed=start)
        for epoch in range(start, total):
            if stopped_early or (stop_after is not None and epoch >= stop_after):
                break
            phase = "head" if epoch < cfg.head_epochs else "full"
            params = _set_phase(model, phase)
            opt = _make_optimizer(params, cfg)
            if state is not None and state.get("phase") == phase and state.get("optimizer"):
                opt.load_state_dict(state["optimizer"])
            torch.manual_seed(cfg.seed * 100_003 + epoch)
            train_ds.epoch = epoch
            gen = torch.Generator().manual_seed(cfg.seed * 7919 + epoch)
            loader = torch.utils.data.DataLoader(
                train_ds,
                batch_size=cfg.batch_size,
                shuffle=True,
                generator=gen,
                num_workers=cfg.num_workers,
                collate_fn=_collate,
            )
            loss_sum, correct, seen = 0.0, 0, 0
            for x, y in loader:
                x, y = x.to(dev), y.to(dev)
                logits = model(x)
                loss = nn.functional.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach()) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(y)
            val_acc = _evaluate_loader(model, val_loader, dev) if len(val_ds) else float("nan")
            score = val_acc if len(val_ds) else float(epoch)  # no val split: keep the last epoch
            if score > best_acc:
                best_acc, best_epoch, bad_epochs = score, epoch, 0
                best_model = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            elif phase == "full":
                bad_epochs += 1
            stopped_early = phase == "full" and bad_epochs >= cfg.patience
            history.append(
                {
                    "epoch": epoch + 1,
                    "phase": phase,
                    "loss": loss_sum / max(seen, 1),
                    "train_acc": correct / max(seen, 1),
                    "val_acc": val_acc,
                }
            )
            state = {
                "epoch": epoch + 1,
                "phase": phase,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "best_acc": best_acc,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "best_model": best_model,
                "stopped_early": stopped_early,
            }
            _save_state(out, state)
            atomic_write_json(out / HISTORY_FILE, history)
            prog.update(
                task,
                completed=epoch + 1,
                description=f"training {cfg.backbone} on {label} (val acc {val_acc:.3f})",
            )
            if stopped_early:
                break
    done_epochs = int(state["epoch"]) if state else 0
    if stopped_early or done_epochs >= total:
        atomic_write_json(
            out / METRICS_FILE,
            {
                "complete": True,
                "epochs_run": done_epochs,
                "best_epoch": best_epoch + 1,
                "best_val_acc": history[best_epoch]["val_acc"] if history and best_epoch >= 0 else None,
                "stopped_early": stopped_early,
                "n_train": len(train_df),
                "n_val": len(val_df),
                "classes": len(classes),
            },
        )
    return out


def _stat_batches(ds: CropDataset, limit: int = 2048) -> list[torch.Tensor]:
    """Epoch-0 training crops (at most ``limit``, evenly spaced) for the input statistics."""
    ds.epoch = 0
    idx = np.linspace(0, len(ds) - 1, min(limit, len(ds))).round().astype(int)
    idx = sorted(set(idx.tolist()))
    return [_collate([ds[i] for i in idx[j : j + 64]])[0] for j in range(0, len(idx), 64)]


def _class_key(c: str) -> tuple[int, float, str]:
    try:
        return (0, float(c), c)
    except ValueError:
        return (1, 0.0, c)


def _save_state(out: Path, state: dict[str, Any]) -> None:
    atomic_save(out / STATE_FILE, lambda tmp: torch.save(state, tmp))


def _prepare_run_folder(out: Path, config: dict[str, Any], classes: list[str]) -> None:
    """Create the run folder, or check that an existing one holds this very run."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_path, cls_path = out / CONFIG_FILE, out / CLASSES_FILE
    if cfg_path.is_file():
        old = read_run_config(out)
        if old != json.loads(json.dumps(config)):
            diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise RunError(
                f"{out} holds a different run (differs in {', '.join(diff)}); choose another --out"
            )
        if cls_path.is_file() and _read_classes(out) != classes:
            raise RunError(f"{out} holds a run with other classes; choose another --out")
    else:
        if (out / STATE_FILE).exists() or any(out.iterdir()):
            raise RunError(f"{out} is not empty and holds no run {CONFIG_FILE}; choose another --out")
    atomic_write_json(cls_path, classes)
    atomic_write_text(cfg_path, yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False))


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


# --------------------------------------------------------------------------------------------- dataset-level


def train_run(
    data: str | Path,
    out: str | Path,
    cfg: ClassifierConfig,
    label: str = "model_id",
    where: str | None = None,
    holdout_models: str | None = None,
    device: str = "cpu",
    stop_after: int | None = None,
) -> Path:
    """Train on a rendered dataset's train split (early stop on val), after ``where`` / ``holdout_models``.

    ``holdout_models`` is a filter naming models excluded from training and validation (they are the
    "unknown" models of the open-set evaluation). Everything is recorded in ``config.yaml``, so
    :func:`rerun_from_config` re-creates the run from that file alone.
    """
    from ..dataset import RenderedDataset, apply_where

    ds = RenderedDataset.open(data, where=where)
    frame = ds.frame
    if holdout_models:
        held = apply_where(frame, holdout_models)
        if held.empty:
            raise DatasetError(f"--holdout-models {holdout_models!r} matches no image in {ds.root}")
        frame = frame.drop(index=held.index)
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    val = frame[frame["split"] == "val"].reset_index(drop=True)
    meta = {"data": str(Path(data).resolve()), "where": where, "holdout_models": holdout_models}
    return train_classifier(
        ds.root, train, val, label, Path(out), cfg, device=device, meta=meta, stop_after=stop_after
    )


def rerun_from_config(config_yaml: str | Path, out: str | Path | None = None, device: str = "cpu") -> Path:
    """Re-create a run from its ``config.yaml`` alone (into ``out``, default: the file's folder)."""
    path = Path(config_yaml)
    data = read_run_config(path.parent) if path.name == CONFIG_FILE else None
    if data is None:
        raise RunError(f"expected a run's {CONFIG_FILE}, got {path}")
    if not data.get("data"):
        raise RunError(f"{path} records no dataset (run trained from frames); cannot re-create it")
    return train_run(
        data["data"],
        out or path.parent,
        config_from_run(data),
        label=data["label"],
        where=data.get("where"),
        holdout_models=data.get("holdout_models"),
        device=device,
    )
