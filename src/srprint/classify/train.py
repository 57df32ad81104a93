"""Training of the classifier engine: ``train_classifier`` on frames, ``train_run`` on a rendered dataset."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from ..config import resolves_device
from ..errors import DatasetError, SrprintError
from ..io.atomic import atomic_save, atomic_write_json, atomic_write_text
from ..progress import make_progress
from .data import CropDataset, cap_per_class, collate, labels_of
from .inputs import ClassifierNet, create_classifier_net
from .predict import load_classifier
from .run_folder import (
    CLASSES_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    RUN_FORMAT,
    STATE_FILE,
    ClassifierConfig,
    RunError,
    config_from_run,
    load_state,
    read_classes,
    read_run_config,
    run_is_complete,
)


def head_params(model: nn.Module) -> list[nn.Parameter]:
    return list(model.get_classifier().parameters())


def make_optimizer(params: list[nn.Parameter], cfg: ClassifierConfig) -> torch.optim.Optimizer:
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
    head = {id(p) for p in head_params(model)}
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


@resolves_device
def train_classifier(
    root: Path,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    *, label: str,
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
        Manifest rows (see :mod:`srprint.render.manifest`); ``val_df`` drives early stopping (may be empty).
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
    dev = device
    if train_df.empty:
        raise DatasetError("no training images (the train split is empty after filtering)")
    train_labels = labels_of(train_df, label)
    classes = sorted(set(train_labels), key=_class_key)
    if len(classes) < 2:
        raise DatasetError(
            f"the training data has a single {label} class ({classes[0]!r}); attribution needs at least two"
        )
    train_df = cap_per_class(train_df, label, cfg.max_per_class, seed=cfg.seed)
    train_labels = labels_of(train_df, label)
    if not val_df.empty:
        val_labels = labels_of(val_df, label)
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
        [index[c] for c in labels_of(val_df, label)] if not val_df.empty else [],
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
        collate_fn=collate,
    )

    state: dict[str, Any] | None = load_state(out) if (out / STATE_FILE).is_file() else None
    history: list[dict[str, Any]] = json.loads((out / HISTORY_FILE).read_text()) if state else []
    torch.manual_seed(cfg.seed)
    if cfg.init:
        model = _init_from(classes, cfg, dev)  # keeps the source run's spectrum statistics
    else:
        model = create_classifier_net(cfg.backbone, len(classes), cfg.input, crop=cfg.crop, eps=cfg.dct_eps)
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
            opt = make_optimizer(params, cfg)
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
                collate_fn=collate,
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
    return [collate([ds[i] for i in idx[j : j + 64]])[0] for j in range(0, len(idx), 64)]


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
        if cls_path.is_file() and read_classes(out) != classes:
            raise RunError(f"{out} holds a run with other classes; choose another --out")
    else:
        if (out / STATE_FILE).exists() or any(out.iterdir()):
            raise RunError(f"{out} is not empty and holds no run {CONFIG_FILE}; choose another --out")
    atomic_write_json(cls_path, classes)
    atomic_write_text(cfg_path, yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False))


# --------------------------------------------------------------------------------------------- dataset-level


def train_run(
    data: str | Path,
    out: str | Path,
    cfg: ClassifierConfig,
    *,
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

    Raises
    ------
    DatasetError
        On: "--holdout-models … matches no image in …".
    """
    from ..render.manifest import RenderedDataset, apply_where

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
        ds.root, train, val, label=label, out=Path(out), cfg=cfg, device=device, meta=meta, stop_after=stop_after
    )


def rerun_from_config(config_yaml: str | Path, out: str | Path | None = None, device: str = "cpu") -> Path:
    """Re-create a run from its ``config.yaml`` alone (into ``out``, default: the file's folder).

    Raises
    ------
    RunError
        On: "expected a run's …, got …"; or "records no dataset (run trained from frames); cannot re-create it".
    """
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


def train_or_rerun(data: str | Path | None, out: str | Path, cfg: ClassifierConfig, *, label: str = "model_id",
                   where: str | None = None, holdout_models: str | None = None, config: str | Path | None = None,
                   device: str = "cpu", **overrides: Any) -> dict[str, Any]:
    """``srprint attribute train``: train a run (or re-create one from its ``config.yaml``); its metrics.

    Parameters
    ----------
    data : str or Path or None
        The rendered dataset (not needed with ``config``).
    out : str or Path
        The run folder (resumed when it holds the same run).
    cfg : ClassifierConfig
        The classifier options.
    label, where, holdout_models : str, optional
        What to predict, the manifest filter, and the models kept out of training (see :func:`train_run`).
    config : str or Path, optional
        A run's ``config.yaml``: re-create that run instead (``cfg`` and ``data`` are ignored).
    device : str
        Torch device.
    **overrides : Any
        ``cfg`` fields to replace; ``None`` keeps ``cfg``'s value (``init`` is made absolute).

    Returns
    -------
    dict
        ``run`` and the run's ``metrics.json``.

    Raises
    ------
    SrprintError
        If neither ``data`` nor ``config`` is given.
    RunError
        If ``out`` holds a different run.
    """
    from .run_folder import METRICS_FILE

    if config is not None:
        run = rerun_from_config(config, out, device=device)
    else:
        if data is None:
            raise SrprintError("--data is required (or --config RUN/config.yaml)")
        changes = {k: v for k, v in overrides.items() if v is not None}
        if changes.get("init") is not None:
            changes["init"] = str(Path(changes["init"]).resolve())
        run = train_run(data, out, dataclasses.replace(cfg, **changes), label=label, where=where,
                        holdout_models=holdout_models, device=device)
    return {"run": str(run), **json.loads((Path(run) / METRICS_FILE).read_text())}
