"""spandrel-built networks in the zoo: the wrapper that honours their input-size rules, and the
``spandrel`` loader that rebuilds one from the weights srprint stored (detection is in
:mod:`srprint.zoo.imports.spandrel_detect`)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from .entry import ZooEntry

StateDict = dict[str, torch.Tensor]


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


def load_descriptor(state: StateDict) -> Any:
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


def load_spandrel_entry(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    """Rebuild a spandrel-detected model from the weights stored in the zoo.

    Raises
    ------
    CheckpointError
        On: "zoo entry …: spandrel cannot rebuild … (…: …)"; or "zoo entry …: spandrel detects …, the record
        says …".
    """
    try:
        desc = load_descriptor(state)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"zoo entry {entry.id}: spandrel cannot rebuild {entry.arch} "
                              f"({type(exc).__name__}: {str(exc)[:120]})") from exc
    if desc.architecture.id != entry.arch:
        raise CheckpointError(f"zoo entry {entry.id}: spandrel detects {desc.architecture.id}, "
                              f"the record says {entry.arch}")
    return wrap_descriptor(desc)
