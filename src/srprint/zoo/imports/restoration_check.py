"""Quality of restoration (non-SR) models: denoisers at their noise level, against the noisy input."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from ...io.images import rgb_to_luma
from ..entry import ZooEntry
from ..model import SRModel
from ..quality import psnr_rgb, ssim_y

DEFAULT_SIGMA = 25


def _grey(img: np.ndarray) -> np.ndarray:
    y = rgb_to_luma(img)
    return np.repeat(y[..., None], 3, axis=2).astype(np.float32)


def add_gaussian_noise(img: np.ndarray, sigma: float, seed: int, *, grey: bool = False) -> np.ndarray:
    """AWGN of std ``sigma/255`` (not clipped, as in the DnCNN protocol); same noise on all channels if grey."""
    rng = np.random.default_rng(seed)
    shape = img.shape[:2] + ((1,) if grey else (3,))
    noise = rng.normal(0.0, sigma / 255.0, size=shape).astype(np.float32)
    return img + noise


def evaluate_restoration(
    model: SRModel, hr_images: Iterable[tuple[str, np.ndarray]], entry: ZooEntry, *, device: str = "cpu"
) -> dict[str, Any]:
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
        rows.append(
            {
                "image": name,
                "psnr": p,
                "ssim": ssim_y(out, clean),
                "bicubic_psnr": pn,
                "bicubic_ssim": ssim_y(np.clip(noisy, 0, 1), clean),
            }
        )
    if not rows:
        return {"n_images": 0}
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")}
    return {
        **means,
        "noisy_psnr": means["bicubic_psnr"],
        "psnr_gain": means["psnr"] - means["bicubic_psnr"],
        "sigma": sigma,
        "baseline": "noisy input",
        "n_images": len(rows),
        "per_image": rows,
    }


# ----------------------------------------------------------------------------------------------
# SR quality under the LR degradation a checkpoint's authors trained with
# ----------------------------------------------------------------------------------------------


def _keys_cubic(d: np.ndarray, a: float) -> np.ndarray:
    d = np.abs(d)
    return np.where(
        d <= 1, (a + 2) * d**3 - (a + 3) * d**2 + 1, np.where(d < 2, a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a, 0.0)
    )


def downscale_no_antialias(x: torch.Tensor, scale: int, a: float = -0.75, *, quantize: bool = True) -> torch.Tensor:
    """Bicubic downscale *without* antialiasing (4 taps, half-pixel centres, clamped edges), ``(C, H, W)``.

    ``a = -0.75`` is ``cv2.resize(..., INTER_CUBIC)`` (equal to ``torch`` ``antialias=False``);
    ``a = -0.5`` is TensorFlow's ``tf.image.resize(..., 'bicubic')`` (antialias off by default).
    """
    out = x.float()
    for dim in (x.ndim - 2, x.ndim - 1):
        n = out.shape[dim]
        m = n // scale
        centre = (np.arange(m) + 0.5) * scale - 0.5
        base = np.floor(centre).astype(np.int64)
        acc = torch.zeros(0)
        for k in range(-1, 3):
            idx = torch.from_numpy(np.clip(base + k, 0, n - 1))
            shape = [1] * out.ndim
            shape[dim] = m
            w = torch.from_numpy(_keys_cubic(centre - (base + k), a).astype(np.float32)).view(shape)
            term = out.index_select(dim, idx) * w
            acc = term if k == -1 else acc + term
        out = acc
    out = out.clamp(0.0, 1.0)
    return torch.round(out * 255.0) / 255.0 if quantize else out


#: name -> (description, fn(hr (3,H,W) tensor, scale) -> LR tensor)
LR_DEGRADATIONS: dict[str, tuple[str, Callable[[torch.Tensor, int], torch.Tensor]]] = {
    "cv2-bicubic": (
        "cv2.resize INTER_CUBIC: bicubic a=-0.75, no antialiasing (= torch antialias=False)",
        lambda x, s: downscale_no_antialias(x, s, -0.75),
    ),
    "tf-bicubic": (
        "tf.image.resize 'bicubic': bicubic a=-0.5, no antialiasing",
        lambda x, s: downscale_no_antialias(x, s, -0.5),
    ),
}


def evaluate_sr_degradation(
    model: SRModel, images: Iterable[tuple[str, np.ndarray]], degradation: str, *, device: str = "cpu"
) -> dict[str, Any]:
    """Like :func:`srprint.zoo.quality.evaluate_sr` (Y-PSNR/SSIM, border = scale, vs bicubic upscaling of
    the same LR), but with the LR made by ``LR_DEGRADATIONS[degradation]`` instead of srprint's
    antialiased bicubic: the protocol a checkpoint's authors trained with."""
    from ..quality import evaluate_sr

    return {**evaluate_sr(model, images, device, downscale=LR_DEGRADATIONS[degradation][1]), "degradation": degradation}
