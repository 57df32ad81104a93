"""Classification-fingerprint baselines (IPGuard-style) adapted to restoration networks.

The paper compares critical images with two ways of turning an SR network into a classifier so
that IPGuard (Cao et al., 2021) applies: *ProjCL* projects the output on a fixed random matrix to
100 logits; *PoolCL* average-pools the output to 10 x 10 and treats the 100 cells (mean over RGB)
as logits (softmax). IPGuard's fingerprint is a set of inputs near the classifier's decision
boundary (two top logits equal, above the rest), with the labels the source model gives them;
a suspect is a copy when it gives the same labels to at least ``MATCH_THRESHOLD`` of them.
The ablations ``wo_tv`` (lambda = 0) and ``maxobj`` (maximise the objective) are plain
critical-image runs selected in :class:`~srprint.verification.fingerprint.FingerprintSettings`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import binom

from .critical import check_task_fits, freeze, restore

N_CLASSES = 100
MATCH_THRESHOLD = 0.75
KAPPA = 0.01


def _projection(dim: int, seed: int, device: str) -> torch.Tensor:
    gen = torch.Generator().manual_seed(10_000 + seed)
    return (torch.randn((dim, N_CLASSES), generator=gen) / dim**0.5).to(device)


def classify_logits(y: torch.Tensor, method: str, seed: int) -> torch.Tensor:
    """``(B, 100)`` logits of a restored image batch ``y`` under ``projcl`` / ``poolcl``.

    Raises
    ------
    ValueError
        On: "not a classification baseline: …".
    """
    if method == "projcl":
        flat = (y - 0.5).flatten(1)
        return 100.0 * flat @ _projection(flat.shape[1], seed, str(y.device))
    if method == "poolcl":
        pooled = F.adaptive_avg_pool2d(y, 10).mean(dim=1)  # (B, 10, 10)
        return 100.0 * pooled.flatten(1)
    raise ValueError(f"not a classification baseline: {method}")


def _boundary_loss(z: torch.Tensor, ij: torch.Tensor) -> torch.Tensor:
    zi, zj = z.gather(1, ij[:, :1]), z.gather(1, ij[:, 1:])
    others = z.scatter(1, ij, float("-inf")).amax(dim=1, keepdim=True)
    return (F.relu(others - torch.minimum(zi, zj) + KAPPA) + (zi - zj).abs()).mean()


def ipguard_fingerprint(model: Any, settings: Any, device: str) -> tuple[list[np.ndarray], dict[str, Any],
                                                                        dict[str, float]]:
    """``settings.k`` boundary points of ``model`` under ``settings.method``; returns images, extra, objective.

    Raises
    ------
    SrprintError
        On: "non-finite output at iteration … of the boundary-point search".
    """
    check_task_fits(model, settings.task, settings.size)
    freeze(model)
    gen = torch.Generator().manual_seed(int(settings.seed))
    z = torch.randn((settings.k, 3, settings.size, settings.size), generator=gen).to(device).requires_grad_(True)
    ij = torch.stack([torch.randperm(N_CLASSES, generator=gen)[:2] for _ in range(settings.k)]).to(device)
    opt = torch.optim.Adam([z], lr=settings.lr)
    first = last = float("nan")
    for it in range(settings.iters + 1):
        y = restore(model, torch.sigmoid(z), settings.task, params=settings.task_params, seed=settings.seed)
        loss = _boundary_loss(classify_logits(y, settings.method, settings.seed), ij)
        if not torch.isfinite(loss):
            from ..errors import SrprintError

            raise SrprintError(f"non-finite output at iteration {it} of the boundary-point search")
        last = float(loss.detach())
        first = last if it == 0 else first
        if it == settings.iters:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    images = [np.round(i * 255) / 255 for i in torch.sigmoid(z).detach().cpu().numpy().transpose(0, 2, 3, 1)]
    labels = predict_labels(model, images, settings, device=device)
    return images, {"labels": labels, "pairs": ij.cpu().tolist()}, {"initial": first, "final": last}


@torch.no_grad()
def predict_labels(model: Any, images: list[np.ndarray], settings: Any, *, device: str) -> list[int]:
    freeze(model)
    x = torch.from_numpy(np.stack([i.transpose(2, 0, 1) for i in images]).astype(np.float32)).to(device)
    y = restore(model, x, settings.task, params=settings.task_params, seed=settings.seed)
    return classify_logits(y, settings.method, settings.seed).argmax(dim=1).cpu().tolist()


def match_verdict(source_fp: Any, suspect_model: Any, device: str = "cpu") -> dict[str, Any]:
    """IPGuard matching rate of a suspect model on the source's boundary points."""
    labels = predict_labels(suspect_model, source_fp.float_images(), source_fp.settings, device=device)
    ref = source_fp.extra["labels"]
    matches = int(sum(a == b for a, b in zip(labels, ref, strict=True)))
    n = len(ref)
    rate = matches / n
    # H0 independent: a boundary label is one of two classes, matched by chance half of the time
    pval = float(binom.sf(matches - 1, n, 0.5))
    return {"is_copy": rate >= MATCH_THRESHOLD, "match_rate": rate, "matches": matches, "n": n, "p_value": pval}
