"""Fine-tuning a model on its own task, the ``finetune`` attack's training loop, and the photos it uses.

Split from :mod:`.attacks`, which registers the attack: the loop, the photos it trains on, the held-out
photos every attack's PSNR change is measured on, and the optional per-tensor step (``scaled``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import DatasetError, SrprintError
from .task_operators import apply_degradation

FINETUNE_PHOTOS = 68  # the paper fine-tunes on BSD68: 68 photos of the BSD300 test pool (BSDS500 val)


def _train_photos(data: str = "bsd68") -> dict[str, np.ndarray]:
    """Fine-tuning photos: ``bsd68`` = the first 68 BSDS500 ``val`` photos from the shared data folder
    (the pool BSD68 is drawn from; never in a mini-zoo training set), falling back to the bundled
    scikit-image photos when the shared data is absent; ``skimage`` = those photos (not the held-out one)."""
    from ..io.images import skimage_photos
    from ..zoo.training_sets import SKIMAGE_HOLDOUT

    if data not in ("bsd68", "skimage"):
        raise SrprintError(f"unknown fine-tuning data {data!r} (bsd68 or skimage)")
    if data == "bsd68":
        try:
            from ..io.images import read_image
            from ..zoo.training_sets import shared_images

            files = shared_images(("BSDS500",), ("val",))[:FINETUNE_PHOTOS]
            return {f.stem: read_image(f)[..., :3].astype(np.float32) for f in files}
        except (DatasetError, OSError):
            pass
    return {k: v for k, v in skimage_photos().items() if k != SKIMAGE_HOLDOUT}


def heldout_photos(size: int = 96) -> list[np.ndarray]:
    """Held-out photo crops used to measure an attack's PSNR change (never fine-tuned on)."""
    from ..io.images import center_crop, skimage_photos
    from ..zoo.training_sets import SKIMAGE_HOLDOUT

    img = skimage_photos()[SKIMAGE_HOLDOUT]
    h, w = img.shape[:2]
    crops = [center_crop(img, size, 12)]
    crops.append(img[:size, :size])
    crops.append(img[h - size :, w - size :])
    return crops


def task_psnr(model: Any, images: list[np.ndarray], task: str, *, device: str = "cpu", seed: int = 0) -> float:
    """Mean RGB PSNR of ``model(D_task(x))`` against ``x`` (fixed noise), quantised to 8 bits.

    Raises
    ------
    SrprintError
        On: "model output … does not match task … input …".
    """
    from ..zoo.quality import psnr_rgb

    vals = []
    for k, img in enumerate(images):
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None].to(device)
        gen = torch.Generator(device=x.device).manual_seed(seed + k)
        scale = model.scale if task == "sr" else 1
        if task == "sr":
            from ..degradation import bicubic_downscale

            y_in = bicubic_downscale(x, scale, quantize=True)
        else:
            y_in = apply_degradation(task, x, scale, params=None, generator=gen).clamp(0, 1)
        out = model.infer(y_in)
        if out.shape != x.shape:
            raise SrprintError(f"model output {tuple(out.shape)} does not match task {task} input {tuple(x.shape)}")
        q = torch.round(out * 255) / 255
        vals.append(psnr_rgb(q[0].cpu().numpy(), x[0].cpu().numpy()))
    return float(np.mean(vals))


# a fine-tune that loses more than this on the held-out crops has collapsed (FMEN under a plain step: -20 dB)
FINETUNE_COLLAPSE_DB = 3.0


def collapsed_by_plain_step(entry: Any) -> bool:
    """Whether an attacked entry is a plain-step fine-tune that lost more than :data:`FINETUNE_COLLAPSE_DB` on
    the held-out crops (its record's ``psnr_change``): one to make again with ``scaled``."""
    params = entry.labels.get("attack_params") or {}
    return (entry.labels.get("attack") == "finetune" and not params.get("scaled")
            and float(entry.metrics.get("psnr_change", 0.0)) < -FINETUNE_COLLAPSE_DB)


def _param_groups(params: list[torch.Tensor], lr: float, *, scaled: bool) -> list[dict[str, Any]]:
    """Adam's parameter groups: one learning rate for all, or (``scaled``) one per tensor in proportion to
    its root-mean-square, ``lr * rms(W) / rms(all weights)`` (the same mean step). Why: Adam moves every
    entry by about ``lr`` whatever its gradient, so a tensor far smaller than the rest is overwritten. FMEN's
    merged form feeds activations of 1e7 into kernels of 2e-6: a plain Adam fine-tune collapses it at any
    learning rate down to 1e-8 (held-out PSNR 24.7 -> 4.7 dB after 100 steps, measured)."""
    if not scaled:
        return [{"params": params, "lr": lr}]
    rms = [float(p.detach().float().pow(2).mean().sqrt()) for p in params]
    total = float(torch.cat([p.detach().float().ravel() for p in params]).pow(2).mean().sqrt()) or 1.0
    return [{"params": [p], "lr": lr * max(r, 1e-12) / total} for p, r in zip(params, rms, strict=True)]


def finetune_model(model: Any, task: str, params: dict[str, Any], device: str) -> None:
    """Fine-tune ``model.net`` in place: ``params['iters']`` Adam steps (L1, fresh state) on the task's
    photos (see the ``finetune`` attack); batch-norm running statistics stay frozen. ``params['scaled']``
    (default off) gives each tensor a learning rate in proportion to its scale (:func:`_param_groups`).

    Raises
    ------
    SrprintError
        If the loss becomes non-finite.
    """
    net = model.net
    net.train()
    for mod in net.modules():  # batch-norm statistics of a few small crops would wreck the model: keep them
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.eval()
    for prm in net.parameters():
        prm.requires_grad_(True)
    photos = list(_train_photos(str(params.get("data", "bsd68"))).values())
    rng = np.random.default_rng(int(params["seed"]))
    gen = torch.Generator(device=device).manual_seed(int(params["seed"]))
    trainable = [p for p in net.parameters() if p.is_floating_point()]
    opt = torch.optim.Adam(_param_groups(trainable, float(params["lr"]), scaled=bool(params.get("scaled", False))))
    scale, patch = model.scale, max(int(params.get("patch", 32)), 8 * max(model.scale, 1))
    patch -= patch % max(scale, 1)
    for _ in range(int(params["iters"])):
        crops = []
        for _b in range(int(params.get("batch", 4))):
            img = photos[rng.integers(len(photos))]
            y0, x0 = rng.integers(img.shape[0] - patch + 1), rng.integers(img.shape[1] - patch + 1)
            crops.append(img[y0 : y0 + patch, x0 : x0 + patch].transpose(2, 0, 1))
        hr = torch.from_numpy(np.ascontiguousarray(np.stack(crops))).float().to(device)
        if task == "sr":
            from ..degradation import bicubic_downscale

            y_in = bicubic_downscale(hr, scale, quantize=True)
        else:
            y_in = apply_degradation(task if task in _tasks() else "denoise", hr, 1, params=None,
                                     generator=gen).clamp(0, 1)
        loss = (model(y_in) - hr).abs().mean()
        if not torch.isfinite(loss):
            raise SrprintError(f"fine-tuning {model.name or 'the model'}: non-finite loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()


def _tasks() -> list[str]:
    from .task_operators import list_degradations

    return list_degradations()
