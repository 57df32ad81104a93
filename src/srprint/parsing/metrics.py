"""Parsing metrics: L1 error (continuous), macro F1 (discrete / coarse / fine), accuracy, AUC, and
aggregation of per-image predictions over 1 / 10 / 100 images of one model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score


def l1_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error of (min-max normalised) continuous predictions; NaN when empty."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.size == 0:
        return float("nan")
    return float(np.mean(np.abs(pred - true)))


def macro_f1(
    true: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray, labels: Sequence[int] | None = None
) -> float:
    """Macro-averaged F1 over ``labels`` (default: the classes present in ``true``).

    Averaging over the classes of the *test* set only (not every training class) is what makes the
    score meaningful when held-out models cover a subset of the classes.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    if true.size == 0:
        return float("nan")
    if true.ndim == 2:  # multi-label flags
        return float(f1_score(true, pred, average="macro", zero_division=0))
    labs = sorted(set(true.tolist())) if labels is None else list(labels)
    return float(f1_score(true, pred, labels=labs, average="macro", zero_division=0))


def accuracy(true: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray) -> float:
    true, pred = np.asarray(true), np.asarray(pred)
    return float(np.mean(true == pred)) if true.size else float("nan")


def chance_accuracy(n_classes: int) -> float:
    """Accuracy of a uniform random guess over ``n_classes``."""
    return 1.0 / max(1, n_classes)


def auc(is_positive: Sequence[bool] | np.ndarray, score: Sequence[float] | np.ndarray) -> float:
    """ROC AUC; NaN when only one class is present."""
    y = np.asarray(is_positive).astype(int)
    if y.min(initial=1) == y.max(initial=0):
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, dtype=np.float64)))


def chunk_indices(groups: Sequence[str] | np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """Split the rows of each group (model) into chunks of ``n`` rows (shuffled, seeded).

    A model with fewer than ``n`` rows gives one chunk with all of them; a trailing partial
    chunk is dropped when the model has at least one full chunk.
    """
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    chunks: list[np.ndarray] = []
    for g in sorted(set(groups.tolist())):
        idx = np.flatnonzero(groups == g)
        idx = idx[rng.permutation(len(idx))]
        if len(idx) <= n:
            chunks.append(idx)
            continue
        chunks += [idx[i : i + n] for i in range(0, len(idx) - n + 1, n)]
    return chunks


def aggregate_continuous(values: np.ndarray, chunks: list[np.ndarray]) -> np.ndarray:
    """Mean of each chunk's rows: ``(n_chunks, K)``."""
    values = np.asarray(values)
    return np.stack([values[c].mean(axis=0) for c in chunks]) if chunks else values[:0]


def aggregate_discrete(labels: np.ndarray, chunks: list[np.ndarray]) -> np.ndarray:
    """Majority vote of each chunk (ties broken by the smallest class index)."""
    labels = np.asarray(labels)
    out = []
    for c in chunks:
        counts = Counter(labels[c].tolist())
        best = max(counts.values())
        out.append(min(k for k, v in counts.items() if v == best))
    return np.asarray(out, dtype=np.int64)


def aggregate_multilabel(flags: np.ndarray, chunks: list[np.ndarray]) -> np.ndarray:
    """Per-flag majority vote of each chunk."""
    flags = np.asarray(flags)
    return np.stack([(flags[c].mean(axis=0) >= 0.5).astype(np.int64) for c in chunks])
