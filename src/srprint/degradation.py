"""The one degradation used for training, rendering and evaluation: antialiased bicubic resize.

Like MATLAB's ``imresize`` (Keys cubic, a = -0.5, kernel widened by the scale factor when
shrinking), implemented with ``torch.nn.functional.interpolate(..., antialias=True)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ImageError


def bicubic_resize(x: torch.Tensor, size: tuple[int, int], quantize: bool = False) -> torch.Tensor:
    """Antialiased bicubic resize of ``(B, C, H, W)`` or ``(C, H, W)`` float tensors in ``[0, 1]``.

    Parameters
    ----------
    x : Tensor
        Image batch in ``[0, 1]``.
    size : (int, int)
        Output ``(height, width)``.
    quantize : bool
        Round the result to 8-bit levels, as an LR image saved to disk would be.
    """
    squeeze = x.ndim == 3
    if squeeze:
        x = x.unsqueeze(0)
    y = F.interpolate(x.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
    y = y.clamp(0.0, 1.0)
    if quantize:
        y = torch.round(y * 255.0) / 255.0
    return y.squeeze(0) if squeeze else y


def bicubic_downscale(x: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """Downscale by an integer ``scale``; H and W must be divisible by it.

    Raises
    ------
    ImageError
        If the spatial size is not divisible by ``scale``.
    """
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ImageError(f"image size {w}x{h} is not divisible by scale {scale}; crop it first")
    return bicubic_resize(x, (h // scale, w // scale), quantize=quantize)


def bicubic_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling by ``scale`` (the baseline every SR model must beat)."""
    h, w = x.shape[-2:]
    return bicubic_resize(x, (h * scale, w * scale))


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` float array -> ``(3, H, W)`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` tensor -> ``(H, W, 3)`` float32 array."""
    return x.detach().float().cpu().numpy().transpose(1, 2, 0)


def downscale_image(img: np.ndarray, scale: int, quantize: bool = True) -> np.ndarray:
    """NumPy convenience wrapper around :func:`bicubic_downscale`."""
    return to_numpy(bicubic_downscale(to_tensor(img), scale, quantize=quantize))


def resize_long_side(img: np.ndarray, long_side: int) -> np.ndarray:
    """Shrink so the long side is at most ``long_side`` (never upscale)."""
    h, w = img.shape[:2]
    if max(h, w) <= long_side:
        return img
    f = long_side / max(h, w)
    size = (max(1, round(h * f)), max(1, round(w * f)))
    return to_numpy(bicubic_resize(to_tensor(img), size))
