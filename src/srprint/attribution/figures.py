"""Figures of attribution runs: confusion matrix, t-SNE panels (study's Figure 3), embeddings (Figure 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io.atomic import atomic_save  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def plot_confusion(cm: np.ndarray, classes: list[str], path: Path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: predicted)."""
    n = len(classes)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = min(4 + 0.25 * n, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if n <= 60:
        ax.set_xticks(range(n), classes, rotation=90, fontsize=max(4, 9 - n // 10))
        ax.set_yticks(range(n), classes, fontsize=max(4, 9 - n // 10))
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        int(cm[i, j]),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix")
    return _save(fig, path)


def tsne_embed(features: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """2-D openTSNE embedding (``None`` when there are too few points)."""
    n = len(features)
    if n < 8:
        return None
    from openTSNE import TSNE

    perplexity = float(max(2.0, min(30.0, (n - 1) / 3.0)))
    emb = TSNE(perplexity=perplexity, random_state=seed, n_jobs=1, verbose=False).fit(
        np.asarray(features, dtype=np.float64)
    )
    return np.asarray(emb)


def plot_tsne_panels(
    emb: np.ndarray,
    models: list[str],
    groups: list[str],
    *, group_acc: dict[str, float],
    path: Path,
    title: str = "",
) -> Path:
    """One t-SNE panel per group (e.g. scale x loss), points coloured by model, accuracy in the corner."""
    names = sorted(set(groups))
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4 * rows), squeeze=False)
    models_arr, groups_arr = np.asarray(models), np.asarray(groups)
    cmap = plt.get_cmap("tab20")
    for ax, g in zip(axes.flat, names, strict=False):
        sel = groups_arr == g
        for k, m in enumerate(sorted(set(models_arr[sel]))):
            pts = emb[sel & (models_arr == m)]
            ax.scatter(pts[:, 0], pts[:, 1], s=8, color=cmap(k % 20), label=m)
        ax.set_title(g, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if g in group_acc:
            ax.text(
                0.02,
                0.98,
                f"acc {100 * group_acc[g]:.1f}%",
                transform=ax.transAxes,
                va="top",
                fontsize=9,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
            )
        if len(set(models_arr[sel])) <= 12:
            ax.legend(fontsize=5, loc="lower right", markerscale=1.5)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_embedding(
    emb: np.ndarray, labels: list[str], is_new: np.ndarray, *, path: Path, title: str = ""
) -> Path:
    """Known models as small grey/coloured dots, never-seen models as large labelled markers."""
    fig, ax = plt.subplots(figsize=(7, 6))
    labels_arr = np.asarray(labels)
    cmap = plt.get_cmap("tab20")
    known = ~is_new
    ax.scatter(emb[known, 0], emb[known, 1], s=5, c="lightgrey", label="training models")
    for k, m in enumerate(sorted(set(labels_arr[is_new]))):
        pts = emb[is_new & (labels_arr == m)]
        ax.scatter(pts[:, 0], pts[:, 1], s=22, marker="^", color=cmap(k % 20), label=m)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=6, loc="best")
    ax.set_title(title or "embedding of unseen models")
    return _save(fig, path)
