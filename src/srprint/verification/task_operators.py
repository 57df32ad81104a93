"""Degradation operators ``D_T`` of the critical-image objective, one per restoration task.

``D(x, scale, params, generator)`` maps a clean ``(B, 3, H, W)`` tensor in ``[0, 1]`` to the
model's input; it must be differentiable in ``x``. Noise is drawn from ``generator`` so a
fingerprint is reproducible. Register a new task with :func:`register_degradation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..degradation import bicubic_downscale
from ..errors import SpecError
from ..registries import Registry

DegradationFn = Callable[[torch.Tensor, int, dict[str, Any], torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Degradation:
    """A registered task: the operator, its default parameters and the output/input size ratio."""

    name: str
    fn: DegradationFn
    defaults: dict[str, Any] = field(default_factory=dict)
    upscales: bool = False  # True: the model must output ``scale`` x its input (SR); else the same size
    description: str = ""


DEGRADATIONS: Registry[Degradation] = Registry("task", error=SpecError, unique=False)


def register_degradation(name: str, defaults: dict[str, Any] | None = None, upscales: bool = False,
                         *, description: str = "") -> Callable[[DegradationFn], DegradationFn]:
    """Decorator adding a degradation operator to the registry under ``name``."""
    return DEGRADATIONS.decorator(name, lambda fn: Degradation(name, fn, dict(defaults or {}), upscales,
                                                               description))


list_degradations = DEGRADATIONS.names  # sorted names
get_degradation = DEGRADATIONS.lookup  # the entry, or a clear error naming the known ones


def degradation_params(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's default parameters updated with ``overrides`` (unknown keys are refused).

    Raises
    ------
    SpecError
        On: "task … has no parameter … (has: …)".
    """
    deg = get_degradation(name)
    params = dict(deg.defaults)
    for k, v in (overrides or {}).items():
        if k not in params:
            raise SpecError(f"task {name!r} has no parameter {k!r} (has: {', '.join(params) or 'none'})")
        params[k] = type(params[k])(v)
    return params


def apply_degradation(name: str, x: torch.Tensor, scale: int = 1, *, params: dict[str, Any] | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply task ``name``'s operator to ``x`` (see module docstring)."""
    deg = get_degradation(name)
    gen = generator if generator is not None else torch.Generator(device=x.device).manual_seed(0)
    return deg.fn(x, scale, degradation_params(name, params), gen)


def _noise(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def _conv_per_channel(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve every channel with the same 2-D kernel, reflect-padded to keep the size."""
    kh, kw = kernel.shape
    k = kernel.to(x)[None, None].expand(x.shape[1], 1, kh, kw)
    xp = F.pad(x, (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2), mode="reflect")
    return F.conv2d(xp, k, groups=x.shape[1])


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    k = torch.outer(g, g)
    return (k / k.sum()).float()


def vertical_motion_kernel(length: int) -> torch.Tensor:
    k = torch.zeros(length, length)
    k[:, length // 2] = 1.0 / length
    return k


@register_degradation("sr", upscales=True, description="bicubic downscale by the model's scale (the SR task)")
def _sr(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    return bicubic_downscale(x, scale, quantize=False) if scale > 1 else x


@register_degradation("denoise", {"sigma": 25.0}, description="additive Gaussian noise, sigma in 0-255 units")
def _denoise(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    return x + _noise(x, gen) * (params["sigma"] / 255.0)


@register_degradation("deblur", {"blur_sigma": 1.0, "noise_sigma": 0.01},
                      description="3x3 Gaussian blur (sigma 1) + Gaussian noise")
def _deblur_gaussian(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    y = _conv_per_channel(x, gaussian_kernel(3, params["blur_sigma"]))
    return y + _noise(x, gen) * params["noise_sigma"]


@register_degradation("deblur-motion", {"length": 9, "noise_level": 0.01},
                      description="9x9 vertical motion blur + uniform noise")
def _deblur_motion(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    y = _conv_per_channel(x, vertical_motion_kernel(int(params["length"])))
    u = torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype) * 2 - 1
    return y + u * params["noise_level"]


@register_degradation("lowlight", {"gamma": 3.0}, description="min-max normalised x**3 (a darkened copy)")
def _lowlight(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    y = x.clamp(0, 1) ** params["gamma"]
    lo = y.amin(dim=(1, 2, 3), keepdim=True)
    hi = y.amax(dim=(1, 2, 3), keepdim=True)
    return (y - lo) / (hi - lo).clamp_min(1e-8)


@register_degradation("derain", {"density": 0.995, "length": 9, "strength": 0.1},
                      description="synthetic rain: sparse points (> density) smeared by a motion kernel, x 0.1")
def _derain(x: torch.Tensor, scale: int, params: dict[str, Any], gen: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    u = torch.rand((b, 1, h, w), generator=gen, device=x.device, dtype=x.dtype)
    points = (u > params["density"]).to(x.dtype)
    streaks = _conv_per_channel(points, vertical_motion_kernel(int(params["length"])) * params["length"])
    return x + params["strength"] * streaks.expand_as(x)


def output_ratio(task: str, scale: int) -> int:
    """How many times larger than its input the model's output must be for ``task``."""
    return scale if get_degradation(task).upscales else 1


__all__ = ["DEGRADATIONS", "Degradation", "apply_degradation", "degradation_params", "gaussian_kernel",
           "get_degradation", "list_degradations", "output_ratio", "register_degradation"]
