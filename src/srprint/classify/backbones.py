"""Classifier backbones: a thin registry over ``timm.create_model(name, pretrained=False)``.

Adding a timm backbone is one row of ``TIMM_BACKBONES``; any other is one decorated function. No
weights are ever downloaded: every backbone is created with ``pretrained=False`` and trained from
scratch (or from another run, ``--init``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from ..registries import Registry


@dataclass(frozen=True)
class BackboneInfo:
    """A registered backbone: builder, the network's native input size and a note."""

    name: str
    builder: Callable[[int], nn.Module]
    native_size: int
    note: str = ""


BACKBONES: Registry[BackboneInfo] = Registry("backbone")


def register_backbone(
    name: str, native_size: int = 224, note: str = ""
) -> Callable[[Callable[[int], nn.Module]], Callable[[int], nn.Module]]:
    """Decorator registering ``builder(num_classes) -> nn.Module`` (a timm model) under ``name``."""
    return BACKBONES.decorator(name, lambda fn: BackboneInfo(name, fn, native_size, note))


def _timm(name: str, num_classes: int) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, num_classes=num_classes)


# timm models, by their timm name: (native input size, note)
TIMM_BACKBONES = {
    "convnext_atto": (224, "3.4M params; the CPU default"),
    "convnext_nano": (224, "15M params"),
    "convnext_tiny": (224, "28M params (GPU)"),
    "convnext_base": (224, "88M params; the reference study's backbone (GPU)"),
    "legacy_xception": (299, "Xception (22M params)"),
    "efficientnet_b2": (256, "EfficientNet-B2 (7.7M params)"),
    "resnet50": (224, "ResNet-50 (23.5M params)"),
    "test_convnext": (64, "timm's 0.2M-parameter test ConvNeXt: unit tests and smoke runs only"),
}
for _name, (_size, _note) in TIMM_BACKBONES.items():
    BACKBONES.add(_name, BackboneInfo(_name, partial(_timm, _name), _size, _note))


list_backbones = BACKBONES.names  # sorted names
get_backbone = BACKBONES.lookup  # the entry, or a clear error naming the known ones


def create_backbone(name: str, num_classes: int) -> nn.Module:
    """Create backbone ``name`` with a fresh ``num_classes`` head (random init, no download)."""
    return get_backbone(name).builder(num_classes)
