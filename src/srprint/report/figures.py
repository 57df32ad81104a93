"""The report's population figure: one test crop as each model rendered it, with its spectrum."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

CROP = 64  # px of the shared crop shown per model
MAX_MODELS = 12


def log_spectrum(img: np.ndarray) -> np.ndarray:
    """Centred log-magnitude spectrum of an image's luma (where SR models leave their marks)."""
    grey = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) if img.ndim == 3 else img.astype(np.float64)
    spec = np.fft.fftshift(np.abs(np.fft.fft2(grey - grey.mean())))
    return np.log1p(spec)


def population_figure(render: str | Path, *, max_models: int = MAX_MODELS) -> bytes | None:
    """PNG bytes of the population figure of a rendered dataset, or None when there is nothing to show.

    The image is the first test image every shown model rendered; each column is one model (the
    real photo first), the top row its centre crop and the bottom row that crop's log spectrum. A
    population larger than ``max_models`` is shown by models spread evenly over its sorted ids.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..errors import SrprintError
    from ..io.images import center_crop, read_image
    from ..render.manifest import RenderedDataset

    try:
        frame = RenderedDataset.open(render).frame
    except (SrprintError, OSError):
        return None
    test = frame[frame["split"] == "test"] if "split" in frame else frame
    if test.empty:
        return None
    ids = sorted(test["model_id"].unique())
    real, others = [m for m in ids if m == "HR"], [m for m in ids if m != "HR"]
    keep = max(max_models - len(real), 1)
    if len(others) > keep:  # a large population: models spread over the sorted ids (archs, scales, losses)
        others = [others[i] for i in np.linspace(0, len(others) - 1, keep).round().astype(int)]
    models = real + others
    shared = set.intersection(*(set(test.loc[test["model_id"] == m, "image_id"]) for m in models))
    if not shared:
        return None
    image_id = sorted(shared)[0]
    fig, axes = plt.subplots(2, len(models), figsize=(1.9 * len(models), 4.2), squeeze=False)
    for col, model in enumerate(models):
        row = test[(test["model_id"] == model) & (test["image_id"] == image_id)].iloc[0]
        img = read_image(Path(render) / row["path"])
        crop = center_crop(img, min(CROP, *img.shape[:2]))
        axes[0][col].imshow(np.clip(crop, 0, 1))
        axes[1][col].imshow(log_spectrum(crop), cmap="magma")
        axes[0][col].set_title(model if len(model) < 22 else model[:20] + "…", fontsize=7)
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_ylabel("centre crop", fontsize=8)
    axes[1][0].set_ylabel("log spectrum", fontsize=8)
    fig.suptitle(f"test image {image_id}: the real photo (HR) and each model's rendering", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
