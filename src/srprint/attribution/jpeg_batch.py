"""Batched JPEG search: :func:`~.jpeg_trace.jpeg_invert` of one model on many crops at once.

A JPEG calibration searches the same model (and the bicubic reference) on every calibration crop, one
after another at batch size 1. Here the crops go through together, as :mod:`.inversion_batch` does for
the pixel path: the start is :func:`~.inversion_batch.invert_batch`, the hinge's loss is the sum of the
per-crop hinges (each normalised by its own coefficient count, as :func:`~.jpeg_trace.jpeg_invert` does),
Adam is elementwise and the cosine schedule steps the same for every crop, so each crop's updates are
those of its own search. Each crop keeps its own exact test, best, stop at zero violations and finiteness
check; a crop that stopped leaves the loss. With one crop per batch the search is bit for bit
:func:`~.jpeg_trace.jpeg_invert`'s; in a batch the kernels differ from batch 1 in the last bits, which the cell
search (rounding passed straight through) can carry on to other violation counts: measured on the demo zoo
(``bench/results/trace_batch_calibration.md``, issue 27), RDN x4 identical, EDSR x2 up to 49 of ~2000 and the
statistic up to 2.7 % apart (the calibration's cache key names the batching: jpeg_decide.calibration_path).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .inversion import descend
from .inversion_batch import CHUNK, invert_batch
from .jpeg_trace import (
    HINGE_LR,
    HINGE_MARGIN,
    HINGE_STEPS,
    JPEG_BORDER,
    START_STEPS,
    JpegCrop,
    JpegInversion,
    _inner_masks,
    _round_through,
    _window,
    forward_dct,
    jpeg_invert,
    requantisation_test,
)

_FAILED = {"violations": 0, "n": 0, "rate": math.inf, "blocks_exact": 0.0}


def _batchable(crops: list[JpegCrop]) -> bool:
    """Whether the crops can share a batch: one side, no context, one file structure (tables, sampling)."""
    first = crops[0]
    return all(c.outer is None and c.size == first.size and c.offset == first.offset
               and c.info.sampling == first.info.sampling and c.info.mcu == first.info.mcu
               and len(c.info.qtables) == len(first.info.qtables)
               and all(np.array_equal(a, b) for a, b in zip(c.info.qtables, first.info.qtables, strict=True))
               for c in crops)


def jpeg_invert_batch(model: Any, crops: list[JpegCrop], *, start_steps: int = START_STEPS, steps: int = HINGE_STEPS,
                      lr: float = HINGE_LR, start_lr: float = 2e-3, margin: float = HINGE_MARGIN,
                      border: int = JPEG_BORDER, check_every: int = 50, chunk: int = CHUNK) -> list[JpegInversion]:
    """:func:`~.jpeg_trace.jpeg_invert` of ``model`` on every crop of ``crops``, ``chunk`` at a time.

    Parameters
    ----------
    model : SRModel
        The candidate (or the bicubic reference).
    crops : list of JpegCrop
        Aligned crops (:func:`~.jpeg_trace.aligned_jpeg_crop`). Crops that cannot share a batch (a context,
        different sides or tables) are searched one by one.
    start_steps, steps, lr, start_lr, margin, border, check_every
        As for :func:`~.jpeg_trace.jpeg_invert`, applied to each crop on its own.
    chunk : int
        Crops searched together (memory grows with it).

    Returns
    -------
    list of JpegInversion
        One per crop, in order: what :func:`~.jpeg_trace.jpeg_invert` returns for it (up to the last bits of
        batched kernels).

    Raises
    ------
    SrprintError
        If a crop does not fit the model's scale.
    """
    kw = {"start_steps": start_steps, "steps": steps, "lr": lr, "start_lr": start_lr, "margin": margin,
          "border": border, "check_every": check_every}
    if not crops:
        return []
    if not _batchable(crops):
        return [jpeg_invert(model, c, **kw) for c in crops]
    out: list[JpegInversion] = []
    for i in range(0, len(crops), chunk):
        out += _search_chunk(model, crops[i:i + chunk], **kw)
    return out


def _search_chunk(model: Any, crops: list[JpegCrop], *, start_steps: int, steps: int, lr: float, start_lr: float,
                  margin: float, border: int, check_every: int) -> list[JpegInversion]:
    """One batch of :func:`jpeg_invert_batch` (crops of one side and one file structure, no context)."""
    n = len(crops)
    starts = invert_batch(model, [c.pixels for c in crops], steps=start_steps, lr=start_lr, border=border,
                          return_input=True, chunk=n)
    results: list[JpegInversion | None] = [None] * n
    live = []
    for k, s in enumerate(starts):
        if not s.finite or s.input is None:
            results[k] = JpegInversion(dict(_FAILED), math.inf, 0, False)
        else:
            live.append(k)
    if not live:
        return [r for r in results if r is not None]
    x = torch.cat([starts[k].input for k in live]).clone().requires_grad_(True)
    dev, first, m = x.device, crops[live[0]], len(live)
    qs = [torch.from_numpy(t.astype(np.float32)).to(dev) for t in first.info.qtables]
    masks = [torch.from_numpy(mk).to(dev) for mk in _inner_masks(first, border)]
    targets = [torch.stack([torch.from_numpy(crops[k].cells[c].astype(np.float32)) for k in live]).to(dev)[:, mk]
               for c, mk in enumerate(masks)]

    def exact(rows: list[int]) -> dict[int, dict[str, Any]]:
        with torch.no_grad():
            out = _window(model(x), first).clamp(0, 1).cpu().numpy().transpose(0, 2, 3, 1)
        return {j: requantisation_test(out[j], crops[live[j]], border=border) for j in rows}

    def hinge() -> torch.Tensor:  # (m,) each crop's own hinge, as jpeg_trace._hinge computes it
        out = _window(model(x), first).clamp(0, 1)
        out = _round_through(out * 255) / 255
        loss = out.new_zeros((m,))
        count = 0
        for d, q, t, mk in zip(forward_dct(out, first.info.sampling), qs, targets, masks, strict=True):
            z = d[:, mk] / q
            loss = loss + torch.relu((z - t).abs() - 0.5 + margin).pow(2).flatten(1).sum(1)
            count += z[0].numel()
        return loss / max(count, 1)

    best = exact(list(range(m)))
    done = [0] * m
    active = [j for j in range(m) if best[j]["violations"] != 0]
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / max(steps, 1))))
    for it in range(1, steps + 1):
        if not active:
            break
        per = hinge()
        ok = torch.isfinite(per.detach()).tolist()
        active = [j for j in active if ok[j]]  # a non-finite hinge stops that crop's search (jpeg_invert's break)
        if not active:
            break
        descend(opt, per[active].sum() if len(active) < m else per.sum(), x)
        sched.step()
        for j in active:
            done[j] = it
        if it % check_every == 0 or it == steps:
            for j, now in exact(active).items():
                if now["violations"] < best[j]["violations"]:
                    best[j] = now
            active = [j for j in active if best[j]["violations"] != 0]
    for j, k in enumerate(live):
        results[k] = JpegInversion(best[j], starts[k].residual, done[j])
    return [r for r in results if r is not None]
