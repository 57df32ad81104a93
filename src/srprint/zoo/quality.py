"""Image-quality metrics for SR models (the study's Table 8): Y-channel PSNR / SSIM vs bicubic."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from skimage.metrics import structural_similarity

from ..degradation import bicubic_downscale, bicubic_upscale, to_numpy, to_tensor
from ..io.images import crop_to_multiple, to_uint8
from .model import SRModel


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` luma of a ``[0,1]`` RGB image, in ``[16/255, 235/255]`` (SR convention)."""
    return (16.0 + 65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def _shave(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border] if border > 0 else a


def psnr_y(sr: np.ndarray, hr: np.ndarray, border: int = 0) -> float:
    """PSNR (dB) on the Y channel with ``border`` pixels shaved, images in ``[0, 1]``."""
    a, b = _shave(rgb_to_y(sr), border), _shave(rgb_to_y(hr), border)
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim_y(sr: np.ndarray, hr: np.ndarray, border: int = 0) -> float:
    a, b = _shave(rgb_to_y(sr), border), _shave(rgb_to_y(hr), border)
    return float(structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _q(img: np.ndarray) -> np.ndarray:
    return to_uint8(img).astype(np.float32) / 255.0


def evaluate_sr(
    model: SRModel,
    images: Iterable[tuple[str, np.ndarray]],
    device: str = "cpu",
    *, downscale: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> dict[str, object]:
    """PSNR/SSIM (Y, border = scale) of ``model`` and of bicubic on each HR image, plus means.

    The LR is srprint's shared degradation (antialiased bicubic, quantised) unless ``downscale``
    (``fn(hr (3,H,W) tensor, scale) -> LR tensor``) gives another one.
    """
    s = model.scale
    rows = []
    for name, hr in images:
        hr = crop_to_multiple(hr, s)
        lr = downscale(to_tensor(hr), s) if downscale else bicubic_downscale(to_tensor(hr), s, quantize=True)
        with torch.no_grad():
            sr = _q(model.run_image(to_numpy(lr), device=device))
        bic = _q(to_numpy(bicubic_upscale(lr, s)))
        rows.append({"image": name, "psnr": psnr_y(sr, hr, s), "ssim": ssim_y(sr, hr, s),
                     "bicubic_psnr": psnr_y(bic, hr, s), "bicubic_ssim": ssim_y(bic, hr, s)})
    if not rows:
        return {"n_images": 0}
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")}
    return {**means, "psnr_gain": means["psnr"] - means["bicubic_psnr"], "n_images": len(rows), "per_image": rows}
