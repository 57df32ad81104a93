"""Model inversion: could this model have produced this exact image?

For a candidate restoration model ``C`` and an image ``y``, search the input ``x`` that makes ``C``
reproduce ``y``: ``x* = argmin_x ||clamp(C(x)) - y||^2`` (Adam on ``x`` only, starting from the
bicubic downscale of ``y`` for SR models and from ``y`` itself for same-size restoration models).
If ``C`` made ``y`` (and ``y`` was saved as 8-bit), the residual falls to the quantisation floor
``1 / (12 * 255^2) ~ 1.28e-6``; for another model it stays above it. A border of ``border`` output
pixels is ignored: near a crop's edge the model saw pixels the crop does not hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import SrprintError

QUANT_FLOOR = 1.0 / (12.0 * 255.0**2)  # MSE of uniform rounding to 8 bits, in [0, 1] units
INVERSION_STEPS = 120
INVERSION_LR = 2e-3
BORDER = 4
STOP_FACTOR = 1.05  # stop once the residual is within 5 % of the floor: more steps cannot go lower


class ReferenceModel(torch.nn.Module):
    """The structure-free reference a candidate's residual is divided by: bicubic upscaling by ``scale``
    (same-size models: a Gaussian blur of sigma 1). How close *it* comes to an image measures how easy the
    image is to reproduce at all (smooth crops are easy for every model), which the ratio cancels."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = int(scale)
        g = torch.exp(-torch.arange(-2, 3, dtype=torch.float32) ** 2 / 2)
        self.register_buffer("kernel", (g / g.sum()).view(1, 1, 1, 5), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale > 1:
            from ..degradation import bicubic_upscale

            return bicubic_upscale(x, self.scale)
        c = x.shape[1]
        k = self.kernel.to(x.dtype)
        x = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
        x = torch.nn.functional.conv2d(x, k.expand(c, 1, 1, 5), groups=c)
        return torch.nn.functional.conv2d(x, k.transpose(2, 3).expand(c, 1, 5, 1), groups=c)


@dataclass
class InversionResult:
    """Residual (MSE over the inner region) reached by inverting one model on one image."""

    residual: float
    initial: float
    steps: int
    history: list[float] = field(default_factory=list)  # residual every ``record_every`` steps
    finite: bool = True
    input: torch.Tensor | None = field(default=None, repr=False)  # the best input, when asked for

    def to_dict(self) -> dict[str, Any]:
        return {"residual": self.residual, "initial": self.initial, "steps": self.steps, "finite": self.finite,
                "floor_ratio": self.residual / QUANT_FLOOR if self.finite else None}


def _start(model: Any, y: torch.Tensor) -> torch.Tensor:
    scale = int(getattr(model, "scale", 1))
    if scale == 1:
        return y.clone()
    from ..degradation import bicubic_downscale

    if y.shape[-1] % scale or y.shape[-2] % scale:
        raise SrprintError(f"image of {y.shape[-1]}x{y.shape[-2]} px is not a multiple of the model's scale x{scale}")
    return bicubic_downscale(y, scale, quantize=False).clamp(0, 1)


def descend(opt: torch.optim.Optimizer, loss: torch.Tensor, x: torch.Tensor) -> None:
    """One step of ``opt`` on ``loss``, then the input ``x`` is put back in the image range ``[0, 1]``.

    Parameters
    ----------
    opt : torch.optim.Optimizer
        The optimiser of ``x``.
    loss : Tensor
        A scalar that depends on ``x``.
    x : Tensor
        The input being searched (changed in place).

    Returns
    -------
    None

    Raises
    ------
    RuntimeError
        If ``loss`` does not depend on ``x`` (torch's error).
    """
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        x.clamp_(0, 1)


def prepared(model: Any, y: torch.Tensor, *, lr: float, border: int, stop_residual: float | None
             ) -> tuple[torch.Tensor, tuple[slice, ...], float, torch.Tensor, torch.optim.Adam]:
    """The set-up of an inversion of ``model`` on ``y`` (``(n, 3, H, W)``), shared by :func:`invert_model` and
    :func:`~.inversion_batch.invert_batch`.

    Returns
    -------
    tuple
        ``y`` as float on the model's device, the inner region's index (``border`` px left out on each side),
        the residual to stop at, the input being searched (the bicubic start, ``requires_grad``) and its Adam.

    Raises
    ------
    SrprintError
        The image is too small for the border or not a multiple of the model's scale.
    """
    params = next(iter(model.parameters()), None)
    y = y.float().to(params.device if params is not None else "cpu")  # the model's device (``--device``)
    h, w = y.shape[-2:]
    if h <= 2 * border or w <= 2 * border:
        raise SrprintError(f"image of {w}x{h} px is too small for a {border}-px border")
    inner = (slice(None), slice(None), slice(border, h - border), slice(border, w - border))
    stop = STOP_FACTOR * QUANT_FLOOR if stop_residual is None else stop_residual
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = _start(model, y).requires_grad_(True)
    return y, inner, stop, x, torch.optim.Adam([x], lr=lr)


def invert_model(model: Any, image: np.ndarray | torch.Tensor, *, steps: int = INVERSION_STEPS,
                 lr: float = INVERSION_LR, border: int = BORDER, stop_residual: float | None = None,
                 record_every: int = 10, return_input: bool = False) -> InversionResult:
    """Invert ``model`` (an :class:`~srprint.zoo.model.SRModel`) on ``image`` (``(H, W, 3)`` in ``[0, 1]``).

    Parameters
    ----------
    steps, lr
        Adam iterations and learning rate on the input.
    border
        Output pixels ignored on each side.
    stop_residual
        Stop early once the residual is at or below this (default: ``STOP_FACTOR`` x the 8-bit floor).
    return_input
        Keep the best input found (``InversionResult.input``, ``(1, 3, h, w)``).

    Raises
    ------
    SrprintError
        The image does not fit the model's scale, or is too small for the border.
    """
    if steps < 0 or not math.isfinite(lr) or lr <= 0:
        raise SrprintError(f"bad inversion settings steps={steps}, lr={lr}")
    y = image if isinstance(image, torch.Tensor) else torch.from_numpy(
        np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1)))[None]
    y, inner, stop, x, opt = prepared(model, y, lr=lr, border=border, stop_residual=stop_residual)
    target = y[inner]
    best, initial, history, done, best_x = math.inf, math.nan, [], 0, None
    for it in range(steps + 1):
        out = model(x).clamp(0, 1)
        if out.shape != y.shape:
            raise SrprintError(f"model output {tuple(out.shape)} does not match the image {tuple(y.shape)}")
        loss = ((out[inner] - target) ** 2).mean()
        val = float(loss.detach())
        if not math.isfinite(val):
            return InversionResult(math.inf, initial, it, history, finite=False)
        if it == 0:
            initial = val
        if val < best and return_input:
            best_x = x.detach().clone()
        best = min(best, val)
        if it % record_every == 0:
            history.append(best)
        done = it
        if best <= stop or it == steps:
            break
        descend(opt, loss, x)
    return InversionResult(best, initial, done, history, input=best_x)
