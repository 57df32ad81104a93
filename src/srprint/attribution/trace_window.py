"""Which part of an image the pixel path inverts: the window the structure-free reference finds hardest.

The pixel statistic is a candidate's residual divided by the bicubic reference's on the same crop
(:mod:`.trace`). The model that made the image falls to the 8-bit floor wherever the crop lies, so its
ratio is at best ``floor / reference residual``: on a smooth crop, which bicubic upscaling also
reproduces to the floor, the true model's ratio stays near 1 and nothing can be told (dev corpus,
``bench/results/trace_window_pixel_dev.md``: a smooth centre crop left ESPCN's own output at ratio 0.99).
So the crop is the ``size``-px window, aligned to the scale, where the reference's starting residual
(the image minus the reference applied to the image's own bicubic downscale; at scale 1 the image minus
its Gaussian blur) is largest, searched inside the centred ``2 * size`` region (less on a smaller image:
:func:`region_side`). The calibration crops are chosen by the same rule inside regions of the same side
(:func:`textured_crops`), so the null is that of the windows the trace inverts.
"""

from __future__ import annotations

import numpy as np

WINDOWS = ("centre", "textured")  # TraceSettings.window: "centre" is the rule before (kept for comparison)


def centre_crop(img: np.ndarray, size: int, scale: int) -> np.ndarray:
    """A ``size`` x ``size`` centre crop whose offset and side are multiples of ``scale`` (so the crop is
    the output of a contiguous block of the model's input); the whole image if it is smaller."""
    size -= size % scale
    h, w = img.shape[:2]
    ch, cw = min(size, h - h % scale), min(size, w - w % scale)
    y0 = ((h - ch) // 2) // scale * scale
    x0 = ((w - cw) // 2) // scale * scale
    return img[y0:y0 + ch, x0:x0 + cw]


def _start_residual(img: np.ndarray, scale: int) -> np.ndarray:
    """Per-pixel squared residual of the reference at its start (``(h, w)``, channels summed)."""
    import torch

    from .inversion import ReferenceModel, _start

    y = torch.from_numpy(np.ascontiguousarray(np.asarray(img, dtype=np.float32).transpose(2, 0, 1)))[None]
    ref = ReferenceModel(scale)
    with torch.no_grad():  # the inversion's own start: the bicubic downscale (scale 1: the image)
        e = ((y - ref(_start(ref, y))) ** 2).sum(dim=1)[0]
    return e.double().numpy()


def textured_window(img: np.ndarray, size: int, scale: int) -> np.ndarray:
    """The ``size``-px window of ``img`` whose reference start residual is largest, offsets multiples of ``scale``.

    Parameters
    ----------
    img : ndarray
        ``(H, W, 3)`` in ``[0, 1]``; searched whole (callers pass the centred region).
    size : int
        The window side in output pixels (rounded down to a multiple of ``scale``).
    scale : int
        The candidate's scale (1 for same-size models).

    Returns
    -------
    ndarray
        The window (a view of ``img``); ties go to the window nearest the centre, then the first. The whole
        image (cut to a multiple of ``scale``) when it is no larger than ``size``.
    """
    scale = max(int(scale), 1)
    size -= size % scale
    h, w = img.shape[:2]
    h, w = h - h % scale, w - w % scale
    if h <= size and w <= size:
        return img[:h, :w]
    size_y, size_x = min(size, h), min(size, w)
    e = _start_residual(img[:h, :w], scale)
    ii = np.pad(e.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys = np.arange(0, h - size_y + 1, scale)
    xs = np.arange(0, w - size_x + 1, scale)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    energy = ii[yy + size_y, xx + size_x] - ii[yy, xx + size_x] - ii[yy + size_y, xx] + ii[yy, xx]
    energy = np.round(energy, 9)  # ties of equal windows must not turn on the sum's last bits
    dist = (yy - (h - size_y) / 2) ** 2 + (xx - (w - size_x) / 2) ** 2
    order = np.lexsort((dist.ravel(), -energy.ravel()))
    k = int(order[0])
    y0, x0 = int(yy.ravel()[k]), int(xx.ravel()[k])
    return img[y0:y0 + size_y, x0:x0 + size_x]


def region_side(shape: tuple[int, ...], size: int, scale: int) -> int:
    """The side of the centred square region the ``textured`` rule searches in an image of ``shape``:
    ``2 * size``, or less on a smaller image (a multiple of ``scale``). The calibration crops are chosen
    in regions of the same side, so a small image is calibrated on choices as narrow as its own."""
    scale = max(int(scale), 1)
    side = min(2 * size, *shape[:2])
    return max(side - side % scale, scale)


def pixel_window(img: np.ndarray, size: int, scale: int, window: str) -> np.ndarray:
    """The crop the pixel path inverts: ``centre`` (the centred ``size`` window) or ``textured`` (the
    :func:`textured_window` of the centred :func:`region_side` region).

    Raises
    ------
    ValueError
        An unknown ``window``.
    """
    if window == "centre":
        return centre_crop(img, size, scale)
    if window == "textured":
        return textured_window(centre_crop(img, region_side(img.shape, size, scale), scale), size, scale)
    raise ValueError(f"unknown trace window {window!r}: one of {', '.join(WINDOWS)}")


def textured_crops(regions: list[np.ndarray], size: int, scale: int) -> list[np.ndarray]:
    """The calibration crops of the ``textured`` rule: each region's :func:`textured_window`."""
    return [np.ascontiguousarray(textured_window(r, size, scale)) for r in regions]
