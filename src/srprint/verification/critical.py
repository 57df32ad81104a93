"""Critical-image optimisation (Quan et al., ICCV 2023).

``S = argmin_{X in [0,1]} ||X - M(D(X))||^2 - lambda * ||grad X||_1``, solved with Adam from a
Gaussian start. ``X = sigmoid(Z)`` keeps the image in ``[0, 1]`` while ``Z`` is optimised freely;
``Z`` starts from ``N(0, 1)`` drawn from ``seed``. Both terms are per-pixel means (so ``lambda``
does not depend on the image size). Only input gradients are needed: the model's parameters are
frozen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import SrprintError
from .task_operators import apply_degradation, degradation_params, get_degradation, output_ratio


@dataclass
class CriticalResult:
    """Critical images ``(K, H, W, 3)`` float32 in ``[0, 1]`` plus the objective's trace."""

    images: np.ndarray
    objective: list[tuple[int, float]] = field(default_factory=list)  # (iteration, objective) samples
    seconds: float = 0.0

    @property
    def initial_objective(self) -> float:
        return self.objective[0][1]

    @property
    def final_objective(self) -> float:
        return self.objective[-1][1]


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, no parameter gradients (only the input is optimised)."""
    model.eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model


def tv_l1(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation ``mean|dX/dx| + mean|dX/dy|``."""
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean()


def check_task_fits(model: Any, task: str, size: int) -> None:
    """Refuse sizes the task cannot use (e.g. an SR size not divisible by the model's scale).

    Raises
    ------
    SrprintError
        On: "does not fit task …: it is a same-size (x1, task …) model but … needs an upscaling model"; or "--
        size … is not divisible by the model's scale x… (task …)".
    """
    get_degradation(task)
    scale = int(getattr(model, "scale", 1))
    name = getattr(model, "name", "") or "the model"
    if get_degradation(task).upscales and scale < 2:
        raise SrprintError(f"{name} does not fit task {task!r}: it is a same-size (x1, task "
                           f"{getattr(model, 'task', '?')}) model but {task} needs an upscaling model")
    if get_degradation(task).upscales and size % scale:
        raise SrprintError(f"--size {size} is not divisible by the model's scale x{scale} (task {task})")
    if size < 8:
        raise SrprintError(f"--size {size} too small (minimum 8)")


def restore(model: Any, x: torch.Tensor, task: str, *, params: dict[str, Any], seed: int) -> torch.Tensor:
    """``M(D(x))`` with a fixed noise realisation; checks the output has the size the task implies.

    Raises
    ------
    SrprintError
        On: "does not fit task …: it maps a …x… input to …x… (x…) but task … needs x… (model task …, scale x…)".
    """
    scale = int(getattr(model, "scale", 1))
    gen = torch.Generator(device=x.device).manual_seed(seed + 1)
    y_in = apply_degradation(task, x, scale, params=params, generator=gen)
    out = model(y_in)
    if tuple(out.shape[-2:]) != tuple(x.shape[-2:]):
        ratio = output_ratio(task, scale)
        got = out.shape[-1] / y_in.shape[-1]
        name = getattr(model, "name", "") or "the model"
        raise SrprintError(
            f"{name} does not fit task {task!r}: it maps a {y_in.shape[-1]}x{y_in.shape[-2]} input to "
            f"{out.shape[-1]}x{out.shape[-2]} (x{got:g}) but task {task} needs x{ratio} "
            f"(model task {getattr(model, 'task', '?')}, scale x{scale})"
        )
    return out


ObjectiveFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def critical_objective(lam: float, maximize: bool = False) -> ObjectiveFn:
    """``f(X, M(D(X))) = mean (X - M(D(X)))^2 - lam * TV(X)`` (negated for ``maximize``)."""

    def fn(x: torch.Tensor, restored: torch.Tensor) -> torch.Tensor:
        f = (x - restored).pow(2).mean() - lam * tv_l1(x)
        return -f if maximize else f

    return fn


def optimise_input(
    model: Any, task: str, size: int = 128, *, iters: int = 5000, lr: float = 0.1, k: int = 1, seed: int = 0,
    objective: ObjectiveFn | None = None, params: dict[str, Any] | None = None, device: str = "cpu",
    trace_every: int | None = None, callback: Callable[[int], None] | None = None,
) -> CriticalResult:
    """Adam on ``Z`` (``X = sigmoid(Z)``) minimising ``objective(X, M(D(X)))``; see module docstring.

    Raises
    ------
    SrprintError
        The model does not fit the task's sizes, or its output becomes non-finite.
    """
    if iters < 1 or k < 1:
        raise SrprintError(f"--iters and --k must be >= 1 (got {iters}, {k})")
    check_task_fits(model, task, size)
    params = degradation_params(task, params)
    objective = objective or critical_objective(1e-3)
    freeze(model)
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn((k, 3, size, size), generator=gen).to(device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    trace_every = trace_every or max(1, iters // 100)
    trace: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    for it in range(iters + 1):
        x = torch.sigmoid(z)
        restored = restore(model, x, task, params=params, seed=seed)
        loss = objective(x, restored)
        if not torch.isfinite(loss):
            bad = "output" if not torch.isfinite(restored).all() else "objective"
            raise SrprintError(f"non-finite model {bad} at iteration {it} of the critical-image optimisation "
                               f"(model {getattr(model, 'name', '') or '?'}, task {task}); stopped")
        if it % trace_every == 0 or it == iters:
            trace.append((it, float(loss.detach())))
        if it == iters:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if callback is not None:
            callback(it)
    with torch.no_grad():
        imgs = torch.sigmoid(z).detach().cpu().numpy().transpose(0, 2, 3, 1).astype(np.float32)
    return CriticalResult(imgs, trace, time.perf_counter() - t0)


def critical_images(model: Any, task: str = "sr", size: int = 128, *, iters: int = 5000, lam: float = 1e-3,
                    lr: float = 0.1, k: int = 1, seed: int = 0, maximize: bool = False,
                    params: dict[str, Any] | None = None, device: str = "cpu",
                    callback: Callable[[int], None] | None = None) -> CriticalResult:
    """Solve for ``k`` critical images of ``model`` (an :class:`~srprint.zoo.model.SRModel`) for ``task``."""
    return optimise_input(model, task, size, iters=iters, lr=lr, k=k, seed=seed,
                          objective=critical_objective(lam, maximize), params=params, device=device,
                          callback=callback)
