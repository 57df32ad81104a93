"""Quality of restoration (non-SR) models: denoisers at their noise level, against the noisy input."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from ..entry import ZooEntry
from ..evaluate import psnr_rgb, ssim_y
from ..model import SRModel

DEFAULT_SIGMA = 25


def _grey(img: np.ndarray) -> np.ndarray:
    y = 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    return np.repeat(y[..., None], 3, axis=2).astype(np.float32)


def add_gaussian_noise(img: np.ndarray, sigma: float, seed: int, grey: bool = False) -> np.ndarray:
    """AWGN of std ``sigma/255`` (not clipped, as in the DnCNN protocol); same noise on all channels if grey."""
    rng = np.random.default_rng(seed)
    shape = img.shape[:2] + ((1,) if grey else (3,))
    noise = rng.normal(0.0, sigma / 255.0, size=shape).astype(np.float32)
    return img + noise


def evaluate_restoration(model: SRModel, hr_images: Iterable[tuple[str, np.ndarray]], entry: ZooEntry,
                         device: str = "cpu") -> dict[str, Any]:
    """PSNR/SSIM of a denoiser at its noise level vs the noisy input.

    The noise level is ``entry.labels['sigma']`` (25 for blind models). Grey (Y-only) models are
    evaluated on the luma image with the same noise on every channel and PSNR on that channel;
    colour models on RGB. Noise is seeded from the image name (deterministic).

    Returns
    -------
    dict
        ``psnr``, ``ssim``, ``bicubic_psnr`` / ``noisy_psnr`` (the noisy input, the baseline to
        beat; named like SR results so tables line up), ``psnr_gain``, ``sigma``, ``n_images``,
        ``per_image``.
    """
    if entry.task != "denoise":
        return {"error": f"no restoration evaluation for task {entry.task!r}", "n_images": 0}
    sigma = float(entry.labels.get("sigma", DEFAULT_SIGMA))
    rows = []
    for name, hr in hr_images:
        clean = _grey(hr) if entry.grey else hr.astype(np.float32)
        noisy = add_gaussian_noise(clean, sigma, zlib.crc32(name.encode()), grey=entry.grey)
        x = torch.from_numpy(np.ascontiguousarray(noisy.transpose(2, 0, 1)))[None].to(device)
        with torch.no_grad():
            out = model.infer(x)[0].float().cpu().numpy().transpose(1, 2, 0)
        out = np.round(out * 255.0) / 255.0
        if entry.grey:
            p, pn = psnr_rgb(out[..., 0], clean[..., 0]), psnr_rgb(noisy[..., 0], clean[..., 0])
        else:
            p, pn = psnr_rgb(out, clean), psnr_rgb(noisy, clean)
        rows.append({"image": name, "psnr": p, "ssim": ssim_y(out, clean), "bicubic_psnr": pn,
                     "bicubic_ssim": ssim_y(np.clip(noisy, 0, 1), clean)})
    if not rows:
        return {"n_images": 0}
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")}
    return {**means, "noisy_psnr": means["bicubic_psnr"], "psnr_gain": means["psnr"] - means["bicubic_psnr"],
            "sigma": sigma, "baseline": "noisy input", "n_images": len(rows), "per_image": rows}
