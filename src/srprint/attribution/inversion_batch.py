"""Batched model inversion: :func:`~.inversion.invert_model` on many images of one model at once.

A calibration inverts the same model on tens of tiny crops (12-48 px), one after another at batch size 1,
where the per-call overhead of the network and the optimiser dominates on a CPU. Here the crops of one
model go through it together: the loss is the *sum* of the per-image losses (each the mean over its own
inner region, as :func:`~.inversion.invert_model` computes it), so each image's gradient is the one its
own run would get, and Adam is elementwise, so each image's update is its own run's too. Each image keeps
its own best residual, history, early stop and finiteness check; an image that has stopped leaves the
loss (its result is frozen) while the others go on. The chosen results are those of separate runs up to
the last bits of batched float kernels (issue 27; measured by ``bench/trace_batch_calibration.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import SrprintError
from .inversion import BORDER, INVERSION_LR, INVERSION_STEPS, InversionResult, descend, prepared

# images per batch: bounds the memory of a big model (activations x CHUNK) while most of the per-call
# overhead is already shared (bench/results/trace_batch_calibration.md)
CHUNK = 16


def _as_tensor(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(image, torch.Tensor):
        return image.float() if image.dim() == 4 else image.float()[None]
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1)))[None]


def invert_batch(model: Any, images: list[np.ndarray] | list[torch.Tensor], *, steps: int = INVERSION_STEPS,
                 lr: float = INVERSION_LR, border: int = BORDER, stop_residual: float | None = None,
                 record_every: int = 10, return_input: bool = False, chunk: int = CHUNK) -> list[InversionResult]:
    """:func:`~.inversion.invert_model` of ``model`` on every image of ``images``, ``chunk`` at a time.

    Parameters
    ----------
    model : SRModel
        The network inverted (``scale`` attribute; 1 or absent for a same-size model).
    images : list of ndarray or Tensor
        Images of one shape, ``(H, W, 3)`` arrays in ``[0, 1]`` or ``(1, 3, H, W)`` tensors.
    steps, lr, border, stop_residual, record_every, return_input
        As for :func:`~.inversion.invert_model`, applied to each image on its own.
    chunk : int
        Images inverted together (memory grows with it).

    Returns
    -------
    list of InversionResult
        One per image, in order: what :func:`~.inversion.invert_model` returns for it (up to the last
        bits of batched kernels).

    Raises
    ------
    SrprintError
        Bad settings, images of different shapes, or an image that does not fit the model's scale or is
        too small for the border.
    """
    if steps < 0 or not math.isfinite(lr) or lr <= 0 or chunk < 1:
        raise SrprintError(f"bad inversion settings steps={steps}, lr={lr}, chunk={chunk}")
    ys = [_as_tensor(im) for im in images]
    if len({tuple(y.shape) for y in ys}) > 1:
        shapes = sorted({tuple(y.shape) for y in ys})
        raise SrprintError(f"images of different shapes cannot be inverted together: {shapes}")
    out: list[InversionResult] = []
    for i in range(0, len(ys), chunk):
        out += _invert_chunk(model, torch.cat(ys[i:i + chunk]), steps=steps, lr=lr, border=border,
                             stop_residual=stop_residual, record_every=record_every, return_input=return_input)
    return out


def _invert_chunk(model: Any, y: torch.Tensor, *, steps: int, lr: float, border: int, stop_residual: float | None,
                  record_every: int, return_input: bool) -> list[InversionResult]:
    """One batch of :func:`invert_batch` (``y``: ``(n, 3, H, W)``)."""
    y, inner, stop, x, opt = prepared(model, y, lr=lr, border=border, stop_residual=stop_residual)
    n, target = y.shape[0], y[inner]
    best, initial = [math.inf] * n, [math.nan] * n
    history: list[list[float]] = [[] for _ in range(n)]
    done, best_x = [0] * n, [None] * n
    results: list[InversionResult | None] = [None] * n
    active = list(range(n))
    for it in range(steps + 1):
        pred = model(x).clamp(0, 1)
        if pred.shape != y.shape:
            raise SrprintError(f"model output {tuple(pred.shape[1:])} does not match the image {tuple(y.shape[1:])}")
        per = ((pred[inner] - target) ** 2).mean(dim=(1, 2, 3))  # each image's own loss
        vals = per.detach().cpu().tolist()
        still = []
        for k in active:
            val = vals[k]
            if not math.isfinite(val):
                results[k] = InversionResult(math.inf, initial[k], it, history[k], finite=False)
                continue
            if it == 0:
                initial[k] = val
            if val < best[k] and return_input:
                best_x[k] = x[k:k + 1].detach().clone()
            best[k] = min(best[k], val)
            if it % record_every == 0:
                history[k].append(best[k])
            done[k] = it
            if best[k] <= stop or it == steps:
                results[k] = InversionResult(best[k], initial[k], done[k], history[k], input=best_x[k])
            else:
                still.append(k)
        active = still
        if not active:
            break
        # the stopped images leave the loss: no gradient reaches them (their results are frozen above)
        loss = per[active].sum() if len(active) < n else per.sum()
        descend(opt, loss, x)
    return [r for r in results if r is not None]
