"""``SRModel``: the one interface every consumer uses, whatever the model's conventions.

``model(x)`` takes an RGB float tensor ``(B, 3, h, w)`` in ``[0, 1]`` and returns
``(B, 3, s*h, s*w)`` in ``[0, 1]`` (``s = model.scale``; 1 for restoration tasks). The wrapper
absorbs value ranges ([0,1], [0,255], [-1,1]), Y-channel-only models and residual denoisers.
It is differentiable (verification needs input gradients); wrap calls in ``torch.no_grad()``
for inference, or use :meth:`SRModel.infer`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import resolves_device
from ..errors import CheckpointError, SrprintError
from ..io.checkpoints import load_weights
from ..registries import Registry
from .archs import create_arch
from .entry import ZooEntry
from .spandrel_net import load_spandrel_entry


# RGB <-> YCbCr (ITU-R BT.601, full-range float), used for Y-only models.
def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = (b - y) * 0.564 + 0.5
    cr = (r - y) * 0.713 + 0.5
    return torch.cat([y, cb, cr], dim=1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    y, cb, cr = x[:, 0:1], x[:, 1:2] - 0.5, x[:, 2:3] - 0.5
    r = y + 1.403 * cr
    g = y - 0.714 * cr - 0.344 * cb
    b = y + 1.773 * cb
    return torch.cat([r, g, b], dim=1)


class SRModel(nn.Module):
    """Uniform wrapper around an SR / restoration network."""

    def __init__(
        self,
        net: nn.Module,
        scale: int,
        task: str = "sr",
        input_range: tuple[float, float] = (0.0, 1.0),
        grey: bool = False,
        residual: bool = False,
        name: str = "",
    ) -> None:
        super().__init__()
        self.net = net
        self.scale = int(scale)
        self.task = task
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.grey = grey
        self.residual = residual
        self.name = name

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.input_range
        xin = x * (hi - lo) + lo
        y = self.net(xin)
        if self.residual:
            y = xin - y
        return (y - lo) / (hi - lo)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise SrprintError(f"SRModel expects a (B, 3, H, W) RGB tensor, got shape {tuple(x.shape)}")
        if not self.grey:
            return self._run(x)
        ycc = rgb_to_ycbcr(x)
        y = self._run(ycc[:, :1])
        if self.scale > 1:
            from ..degradation import bicubic_upscale

            chroma = bicubic_upscale(ycc[:, 1:].clamp(0, 1), self.scale)
        else:
            chroma = ycc[:, 1:]
        return ycbcr_to_rgb(torch.cat([y, chroma], dim=1))

    @torch.no_grad()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Inference in eval mode without gradients; output clamped to ``[0, 1]``."""
        was_training = self.training
        self.eval()
        try:
            return self(x).clamp(0.0, 1.0)
        finally:
            self.train(was_training)

    def run_image(self, img: np.ndarray, device: str = "cpu") -> np.ndarray:
        """Apply to one ``(H, W, 3)`` float image; returns ``(sH, sW, 3)`` float32 in ``[0, 1]``."""
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None].to(device)
        return self.infer(x)[0].float().cpu().numpy().transpose(1, 2, 0)


# loader name -> fn(entry, state_dict) -> nn.Module: "registry" (srprint's archs and ports) and
# "spandrel" (published models spandrel builds); tests register their own with register_loader.
ModuleLoader = Callable[[ZooEntry, dict[str, torch.Tensor]], nn.Module]
LOADERS: Registry[ModuleLoader] = Registry("loader", error=CheckpointError, unique=False)
LOADERS.add("spandrel", load_spandrel_entry)


def register_loader(name: str) -> Callable[[ModuleLoader], ModuleLoader]:
    """Decorator adding ``fn(entry, state_dict) -> nn.Module`` to the loaders under ``name``."""
    return LOADERS.decorator(name, lambda fn: fn)


@register_loader("registry")
def _load_from_registry(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    net = create_arch(entry.arch, entry.scale, config=entry.arch_config)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        where = entry.weights_path if entry.path is not None else f"zoo entry {entry.id}"
        raise CheckpointError(f"{where}: weights do not match {entry.arch} config ({first})") from exc
    return net


@register_loader("edited")
def _load_edited(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    """A structurally edited model (:mod:`srprint.zoo.surgery`): the original loader rebuilds the network
    from zero weights of the original checkpoint's shapes, the recorded edits reshape it, the file fills it."""
    from dataclasses import replace

    from .surgery import apply_structure

    surgery = entry.labels.get("surgery")
    if not isinstance(surgery, dict) or surgery.get("base_loader") in (None, "edited"):
        raise CheckpointError(f"zoo entry {entry.id}: an edited model's record lacks its original loader")
    shapes = surgery.get("base_shapes")
    if not isinstance(shapes, dict) or not all(isinstance(v, list) and all(isinstance(d, int) and 0 <= d < 2**31
                                                                            for d in v) for v in shapes.values()):
        raise CheckpointError(f"zoo entry {entry.id}: an edited model's record lacks valid original shapes")
    if sum(int(np.prod(v)) for v in shapes.values()) > 2**27:
        raise CheckpointError(f"zoo entry {entry.id}: an edited model's original shapes are implausibly large")
    zeros = {k: torch.zeros(v) for k, v in shapes.items()}
    base = replace(entry, loader=str(surgery["base_loader"]))
    net = LOADERS.lookup(base.loader)(base, zeros)
    apply_structure(net, surgery.get("ops", []))
    net.load_state_dict(state, strict=True)
    return net


@resolves_device
def load_model(entry: ZooEntry | str | Path, device: str = "cpu") -> SRModel:
    """Rebuild the network of a zoo entry (or entry folder) and wrap it as an :class:`SRModel`.

    Raises
    ------
    CheckpointError
        Missing or corrupt weights, or weights that do not fit the recorded architecture.
    """
    if not isinstance(entry, ZooEntry):
        entry = ZooEntry.load(entry)
    return build_model(entry, load_weights(entry.weights_path), device=device)


@resolves_device
def build_model(entry: ZooEntry, state: dict[str, torch.Tensor], device: str = "cpu") -> SRModel:
    """The :class:`SRModel` of ``entry``'s record with the weights ``state`` (nothing is read from disk).

    Raises
    ------
    CheckpointError
        An unknown loader, or weights that do not fit the recorded architecture.
    """
    if entry.loader not in LOADERS:
        raise CheckpointError(f"zoo entry {entry.id}: unknown loader {entry.loader!r}")
    try:
        net = LOADERS[entry.loader](entry, state)
    except (TypeError, KeyError, ValueError, RuntimeError) as exc:  # record and weights do not fit
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"zoo entry {entry.id}: cannot rebuild the network from its record ({first})") from exc
    model = SRModel(net, entry.scale, entry.task, entry.input_range, entry.grey, entry.residual, name=entry.id)
    return model.to(device).eval()
