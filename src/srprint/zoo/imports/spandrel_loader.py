"""spandrel integration: auto-detection of ~40 published architectures, and the ``spandrel``
zoo loader that rebuilds such a model from the weights srprint stored."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError
from ..entry import ZooEntry
from ..model import register_loader
from .registry import Detection, StateDict


class SpandrelNet(nn.Module):
    """A spandrel model plus its input-size requirements (pads, runs, crops back)."""

    def __init__(self, model: nn.Module, scale: int, multiple_of: int = 1, minimum: int = 0) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.multiple_of = max(1, int(multiple_of))
        self.minimum = int(minimum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        th = max(self.minimum, h + (-h) % self.multiple_of)
        tw = max(self.minimum, w + (-w) % self.multiple_of)
        th += (-th) % self.multiple_of
        tw += (-tw) % self.multiple_of
        if (th, tw) != (h, w):
            mode = "reflect" if th - h < h and tw - w < w else "replicate"
            x = F.pad(x, (0, tw - w, 0, th - h), mode=mode)
        y = self.model(x)
        return y[..., : h * self.scale, : w * self.scale]


def _load_descriptor(state: StateDict) -> Any:
    import spandrel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spandrel.ModelLoader(device="cpu").load_from_state_dict(state)


def wrap_descriptor(desc: Any) -> SpandrelNet:
    req = getattr(desc, "size_requirements", None)
    multiple = getattr(req, "multiple_of", 1) if req is not None else 1
    minimum = getattr(req, "minimum", 0) if req is not None else 0
    model = desc.model.float().eval()
    return SpandrelNet(model, int(desc.scale), multiple, minimum)


def detect_spandrel(state: StateDict) -> tuple[Detection | None, str]:
    """spandrel's auto-detection; returns (detection or None, what happened)."""
    try:
        import spandrel
    except ImportError:  # pragma: no cover
        return None, "spandrel not installed"
    try:
        desc = _load_descriptor(state)
    except spandrel.UnsupportedModelError:
        return None, "spandrel: unsupported layout"
    except Exception as exc:  # noqa: BLE001 - a detector that fails on foreign weights is just 'no match'
        return None, f"spandrel: matched a layout but failed ({type(exc).__name__}: {str(exc)[:100]})"
    arch = desc.architecture.id
    in_ch = int(getattr(desc, "input_channels", 3))
    if in_ch not in (1, 3):
        return None, f"spandrel: {arch} with {in_ch} input channels is not an RGB/grey image model"
    scale = int(desc.scale)
    req = getattr(desc, "size_requirements", None)
    cfg = {"spandrel_version": spandrel.__version__,
           "multiple_of": int(getattr(req, "multiple_of", 1) or 1), "minimum": int(getattr(req, "minimum", 0) or 0)}
    det = Detection(arch=arch, arch_config=cfg, scale=scale, task="sr" if scale > 1 else "denoise",
                    grey=in_ch == 1, loader="spandrel", state=dict(desc.model.state_dict()),
                    notes=[f"spandrel {spandrel.__version__} detected {arch} (purpose {desc.purpose})"],
                    scale_evidence=f"spandrel's {arch} descriptor says x{scale}")
    return det, f"spandrel: detected {arch}"


@register_loader("spandrel")
def load_spandrel_entry(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    """Rebuild a spandrel-detected model from the weights stored in the zoo."""
    try:
        desc = _load_descriptor(state)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"zoo entry {entry.id}: spandrel cannot rebuild {entry.arch} "
                              f"({type(exc).__name__}: {str(exc)[:120]})") from exc
    if desc.architecture.id != entry.arch:
        raise CheckpointError(f"zoo entry {entry.id}: spandrel detects {desc.architecture.id}, "
                              f"the record says {entry.arch}")
    return wrap_descriptor(desc)
