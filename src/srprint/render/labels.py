"""The labels of a rendered image: a model's hyperparameters, the real class, splits and selection."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..zoo.entry import ZooEntry
from .manifest import REAL_CLASS

SIGMA_KEYS = ("sigma", "noise_sigma", "noise_level")


def model_labels(entry: ZooEntry) -> dict[str, Any]:
    """The manifest columns of a zoo model (every label; imported models' own labels in ``labels_json``)."""
    labels = dict(entry.labels or {})
    spec = dict(entry.spec or {})

    def pick(key: str, default: Any) -> Any:
        v = labels.get(key, spec.get(key))
        return default if v is None else v

    def as_int(v: Any, default: int) -> int:
        try:
            return int(v)
        except (TypeError, ValueError):
            return default

    everything = {**spec, **labels, "id": entry.id, "source": entry.source, "task": entry.task,
                  "scale": entry.scale, "arch": pick("arch", entry.arch)}
    if entry.imported:
        everything["imported"] = entry.imported
    return {
        "model_id": entry.id, "source": entry.source, "arch": str(pick("arch", entry.arch)),
        "dataset": str(pick("dataset", "")), "loss": str(pick("loss", "")), "task": entry.task,
        "size": str(pick("size", "")), "scale": int(entry.scale), "seed": as_int(pick("seed", -1), -1),
        "labels_json": json.dumps(everything, sort_keys=True, default=str),
    }


def real_labels() -> dict[str, Any]:
    return {"model_id": REAL_CLASS, "source": "real", "arch": "", "dataset": "", "loss": "", "task": "",
            "size": "", "scale": 0, "seed": -1,
            "labels_json": json.dumps({"id": REAL_CLASS, "source": "real"})}


def denoise_sigma(entry: ZooEntry) -> float | None:
    """Noise level (0-1 scale) of a denoiser from its labels, or ``None``."""
    for src in (entry.labels or {}, entry.imported or {}):
        for k in SIGMA_KEYS:
            if src.get(k) is not None:
                try:
                    s = float(src[k])
                except (TypeError, ValueError):
                    continue
                return s / 255.0 if s > 1 else s
    return None


def select_entries(entries: list[ZooEntry], models: str | None) -> list[ZooEntry]:
    """Zoo entries matching ``models``: a ``where`` filter over their labels
    (``id``, ``arch``, ``scale``, ``loss``, ``seed``, ``dataset``, ``source``, ``task``, ``size``) or,
    without any operator, comma-separated glob patterns on the id (``EDSR-*,RCAN-*-x4-*``).

    Raises
    ------
    DatasetError
        If the filter is malformed or matches no model.
    """
    if not models or not models.strip():
        return list(entries)
    if not any(op in models for op in "=<>"):
        pats = [p.strip() for p in models.split(",") if p.strip()]
        chosen = [e for e in entries if any(fnmatch.fnmatchcase(e.id, p) for p in pats)]
    else:
        from .manifest import apply_where

        frame = pd.DataFrame([{"id": e.id, **{k: v for k, v in model_labels(e).items() if k != "labels_json"}}
                              for e in entries])
        if frame.empty:
            chosen = []
        else:
            keep = set(apply_where(frame, models)["id"])
            chosen = [e for e in entries if e.id in keep]
    if not chosen:
        raise DatasetError(f"--models {models!r} matches no model of the zoo")
    return chosen


def assign_splits(image_ids: list[str], seed: int = 0,
                  fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, str]:
    """Seeded train/val/test split of source images (a permutation of the sorted ids).

    Every non-zero fraction gets at least one image once there are enough images.

    Raises
    ------
    DatasetError
        On: "split fractions must be three non-negative numbers, got …".
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise DatasetError(f"split fractions must be three non-negative numbers, got {fractions}")
    total = float(sum(fractions))
    f_train, f_val, f_test = (f / total for f in fractions)
    ids = sorted(image_ids)
    n = len(ids)
    enough = n >= sum(1 for f in (f_train, f_val, f_test) if f > 0)
    n_val = int(round(f_val * n))
    n_test = int(round(f_test * n))
    if enough:
        n_val = max(n_val, 1 if f_val > 0 else 0)
        n_test = max(n_test, 1 if f_test > 0 else 0)
    n_val, n_test = min(n_val, n), min(n_test, n - min(n_val, n))
    order = np.random.default_rng(seed).permutation(n)
    out = {}
    for rank, idx in enumerate(order):
        out[ids[idx]] = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
    if f_train == 0:
        for k, v in out.items():
            if v == "train":
                out[k] = "test"
    return out
