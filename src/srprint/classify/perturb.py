"""Perturbations for the robustness table: JPEG recompression and resizing (as on the web)."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image

from ..io.images import to_uint8

JPEG_QUALITIES = (95, 90, 75)
RESIZE_FACTORS = (0.75, 0.5)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an RGB image (float in ``[0, 1]`` or uint8) through JPEG at ``quality`` (Pillow, 4:2:0)."""
    buf = io.BytesIO()
    Image.fromarray(img if img.dtype == np.uint8 else to_uint8(img)).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB")).astype(np.float32) / 255.0


def resize(img: np.ndarray, factor: float) -> np.ndarray:
    """Bicubic (antialiased, Pillow) resize by ``factor``."""
    h, w = img.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(to_uint8(img)).resize(size, Image.BICUBIC)).astype(np.float32) / 255.0


def perturbations() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Name -> transform for every robustness condition (``jpeg95`` ... ``resize0.5``)."""
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        f"jpeg{q}": partial(jpeg, quality=q) for q in JPEG_QUALITIES
    }
    out.update({f"resize{f:g}": partial(resize, factor=f) for f in RESIZE_FACTORS})
    return out
