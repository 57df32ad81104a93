"""Registries for importing third-party checkpoints.

* **Readers** turn a file that is not a PyTorch/safetensors state dict (TensorFlow ``.pb``,
  Keras ``.h5``, MatConvNet ``.mat``) into a state dict of one of srprint's port architectures.
* **Detectors** recognise a state dict's layout and return a :class:`Detection`: which registered
  architecture (``srprint.zoo.archs``, ports tagged ``"port"``) with which config and scale, or
  ``None`` if the layout is not theirs.

Loading order for a state dict: spandrel's auto-detection first, then every registered detector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..registries import Registry

StateDict = dict[str, torch.Tensor]


@dataclass
class Detection:
    """What a detector recognised in a state dict."""

    arch: str  # registered arch name (srprint.zoo.archs) or spandrel's architecture id when loader="spandrel"
    arch_config: dict[str, Any]
    scale: int
    task: str = "sr"  # "sr" | "denoise"
    input_range: tuple[float, float] = (0.0, 1.0)
    grey: bool = False
    residual: bool = False
    loader: str = "registry"  # "registry" | "spandrel"
    state: StateDict | None = None  # normalised state dict (prefixes stripped, nesting removed), if changed
    notes: list[str] = field(default_factory=list)  # normalisations applied, e.g. "stripped 'module.'"
    scales: tuple[int, ...] = ()  # multi-scale files: every scale the weights serve (one entry per scale)
    scale_evidence: str = ""  # which tensor shape gave the scale, quoted in wrong --scale errors


@dataclass
class ReadResult:
    """A non-PyTorch file converted to a state dict (plus hints such as arch and scale)."""

    state: StateDict
    detection: Detection | None = None
    framework: str = ""
    notes: list[str] = field(default_factory=list)


Detector = Callable[[StateDict], "Detection | None"]
Reader = Callable[[Path], ReadResult]

DETECTORS: Registry[Detector] = Registry("detector", unique=False)  # tried in this order
READERS: Registry[Reader] = Registry("reader", unique=False)  # suffix (".pb") -> reader


def register_detector(name: str) -> Callable[[Detector], Detector]:
    """Decorator adding ``fn(state_dict) -> Detection | None`` to the detectors under ``name``."""
    return DETECTORS.decorator(name, lambda fn: fn)


def register_reader(*suffixes: str) -> Callable[[Reader], Reader]:
    """Decorator adding ``fn(path) -> ReadResult`` as the reader of files ending in ``suffixes``."""

    def deco(fn: Reader) -> Reader:
        for s in suffixes:
            READERS.add(s.lower(), fn)
        return fn

    return deco


def describe(state: StateDict, limit: int = 6) -> str:
    """A short description of a state dict for error messages (first keys with shapes)."""
    items = list(state.items())[:limit]
    txt = ", ".join(f"{k}{tuple(v.shape)}" if isinstance(v, torch.Tensor) else k for k, v in items)
    return f"{len(state)} tensors: {txt}{', ...' if len(state) > limit else ''}"

