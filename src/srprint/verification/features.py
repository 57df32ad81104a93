"""Fingerprint features of a critical image: RGB colour histogram + LGP^riu2 texture histogram.

* RGB: 6 equal bins on ``[0, 1]`` per channel (18 bins), each channel's histogram sums to 1.
* LGP (Local Gradient Pattern, Jun & Kim 2012) with ``P = 10`` neighbours on a circle of radius
  ``R = 2``, bilinearly sampled. For a centre ``c`` with neighbours ``p``, the local gradients are
  ``g_p = |i_p - i_c|`` and their mean ``g_mean``; bit ``p`` is ``1`` when ``g_p >= g_mean``.
  A pattern is *uniform* when it has at most ``u0 = 2`` circular 0/1 transitions; uniform patterns
  are labelled by their rotation-invariant code (the minimum over all ``P`` circular bit shifts),
  which for a uniform pattern is ``2**n - 1`` with ``n`` its number of ones, so there are ``P + 1``
  uniform bins (``n = 0..P``) and one bin for every non-uniform pattern: 12 bins that sum to 1.
  Computed on the luminance (BT.601) of the image; only pixels whose circle lies inside it count.
* The fingerprint vector concatenates them: ``L = 18 + 12 = 30``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ImageError
from ..io.images import rgb_to_luma

RGB_BINS = 6
LGP_P = 10
LGP_R = 2.0
LGP_U0 = 2
FEATURE_LENGTH = 3 * RGB_BINS + LGP_P + 2


def _check_image(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ImageError(f"expected an (H, W, 3) RGB image, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ImageError("image has non-finite values")
    return a


def rgb_histogram(img: np.ndarray, bins: int = RGB_BINS) -> np.ndarray:
    """``3 * bins`` values: per-channel histograms on ``[0, 1]`` (R, G, B), each summing to 1."""
    a = np.clip(_check_image(img), 0.0, 1.0)
    out = []
    for c in range(3):
        idx = np.minimum((a[..., c] * bins).astype(np.int64), bins - 1)
        out.append(np.bincount(idx.ravel(), minlength=bins) / idx.size)
    return np.concatenate(out).astype(np.float64)


def circle_offsets(p: int = LGP_P, r: float = LGP_R) -> np.ndarray:
    """``(P, 2)`` (dy, dx) offsets of the neighbours, counter-clockwise from the right (skimage's order)."""
    ang = 2 * np.pi * np.arange(p) / p
    off = np.stack([-r * np.sin(ang), r * np.cos(ang)], axis=1)
    return np.round(off, 9)  # exact zeros/integers where the circle hits the grid


def _bilinear(grey: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy, fx = ys - y0, xs - x0
    y1 = np.minimum(y0 + 1, grey.shape[0] - 1)
    x1 = np.minimum(x0 + 1, grey.shape[1] - 1)
    return (
        (1 - fy) * (1 - fx) * grey[y0, x0]
        + (1 - fy) * fx * grey[y0, x1]
        + fy * (1 - fx) * grey[y1, x0]
        + fy * fx * grey[y1, x1]
    )


def lgp_bits(grey: np.ndarray, p: int = LGP_P, r: float = LGP_R) -> np.ndarray:
    """``(H', W', P)`` LGP bits of every pixel whose circle fits inside the image (``H' = H - 2 ceil(R)``).

    Raises
    ------
    ImageError
        On: "image …x… too small for LGP radius …".
    """
    g = np.asarray(grey, dtype=np.float64)
    m = int(np.ceil(r))
    h, w = g.shape
    if h <= 2 * m or w <= 2 * m:
        raise ImageError(f"image {w}x{h} too small for LGP radius {r}")
    cy, cx = np.mgrid[m : h - m, m : w - m]
    centre = g[cy, cx]
    grads = np.stack([np.abs(_bilinear(g, cy + dy, cx + dx) - centre) for dy, dx in circle_offsets(p, r)], axis=-1)
    mean = grads.mean(axis=-1, keepdims=True)
    return (grads >= mean - 1e-12).astype(np.uint8)


def rotation_min_code(bits: np.ndarray) -> np.ndarray:
    """Minimum over all circular shifts of the P-bit code (bit ``k`` = neighbour ``k``) -> ``(...,)`` ints."""
    p = bits.shape[-1]
    weights = 1 << np.arange(p, dtype=np.int64)
    best = None
    for s in range(p):
        code = (np.roll(bits, s, axis=-1).astype(np.int64) * weights).sum(axis=-1)
        best = code if best is None else np.minimum(best, code)
    return best


def lgp_riu2_codes(bits: np.ndarray, u0: int = LGP_U0) -> np.ndarray:
    """Bin index ``0..P+1`` of each pattern: uniform -> position of its rotation-min code among the
    uniform codes (= its number of ones), non-uniform -> ``P + 1``."""
    p = bits.shape[-1]
    transitions = (bits != np.roll(bits, 1, axis=-1)).sum(axis=-1)
    canon = rotation_min_code(bits)
    uniform_codes = (1 << np.arange(p + 1, dtype=np.int64)) - 1  # 0, 1, 3, 7, ... (n ones, rotated down)
    label = np.searchsorted(uniform_codes, canon)
    return np.where(transitions <= u0, label, p + 1)


def to_grey(img: np.ndarray) -> np.ndarray:
    return rgb_to_luma(_check_image(img))


def lgp_histogram(img: np.ndarray, p: int = LGP_P, r: float = LGP_R, *, u0: int = LGP_U0) -> np.ndarray:
    """``P + 2`` values: the normalised LGP^riu2 histogram of an RGB image (or a 2-D grey image)."""
    grey = np.asarray(img, dtype=np.float64) if np.ndim(img) == 2 else to_grey(img)
    codes = lgp_riu2_codes(lgp_bits(grey, p, r), u0)
    return np.bincount(codes.ravel(), minlength=p + 2) / codes.size


def fingerprint_features(images: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """The ``L = 30`` feature vector of one critical image, or the mean over several.

    Raises
    ------
    ImageError
        On: "no critical images to compute features of".
    """
    imgs = [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    if not imgs:
        raise ImageError("no critical images to compute features of")
    feats = [np.concatenate([rgb_histogram(i), lgp_histogram(i)]) for i in imgs]
    return np.mean(feats, axis=0)
