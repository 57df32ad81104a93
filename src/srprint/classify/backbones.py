"""Classifier backbones: a thin registry over ``timm.create_model(name, pretrained=False)``.

Adding a backbone is one decorated function. No weights are ever downloaded: every backbone is
created with ``pretrained=False`` and trained from scratch (or from another run, ``--init``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..errors import SrprintError


@dataclass(frozen=True)
class BackboneInfo:
    """A registered backbone: builder, the network's native input size and a note."""

    name: str
    builder: Callable[[int], nn.Module]
    native_size: int
    note: str = ""


_BACKBONES: dict[str, BackboneInfo] = {}


def register_backbone(
    name: str, native_size: int = 224, note: str = ""
) -> Callable[[Callable[[int], nn.Module]], Callable[[int], nn.Module]]:
    """Decorator registering ``builder(num_classes) -> nn.Module`` (a timm model) under ``name``."""

    def deco(fn: Callable[[int], nn.Module]) -> Callable[[int], nn.Module]:
        if name in _BACKBONES:
            raise ValueError(f"backbone {name} registered twice")
        _BACKBONES[name] = BackboneInfo(name, fn, native_size, note)
        return fn

    return deco


def _timm(name: str, num_classes: int) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, num_classes=num_classes)


@register_backbone("convnext_atto", 224, "3.4M params; the CPU default")
def convnext_atto(num_classes: int) -> nn.Module:
    return _timm("convnext_atto", num_classes)


@register_backbone("convnext_nano", 224, "15M params")
def convnext_nano(num_classes: int) -> nn.Module:
    return _timm("convnext_nano", num_classes)


@register_backbone("convnext_tiny", 224, "28M params (GPU)")
def convnext_tiny(num_classes: int) -> nn.Module:
    return _timm("convnext_tiny", num_classes)


@register_backbone("convnext_base", 224, "88M params; the reference study's backbone (GPU)")
def convnext_base(num_classes: int) -> nn.Module:
    return _timm("convnext_base", num_classes)


@register_backbone("legacy_xception", 299, "Xception (22M params)")
def legacy_xception(num_classes: int) -> nn.Module:
    return _timm("legacy_xception", num_classes)


@register_backbone("efficientnet_b2", 256, "EfficientNet-B2 (7.7M params)")
def efficientnet_b2(num_classes: int) -> nn.Module:
    return _timm("efficientnet_b2", num_classes)


@register_backbone("resnet50", 224, "ResNet-50 (23.5M params)")
def resnet50(num_classes: int) -> nn.Module:
    return _timm("resnet50", num_classes)


@register_backbone("test_convnext", 64, "timm's 0.2M-parameter test ConvNeXt: unit tests and smoke runs only")
def test_convnext(num_classes: int) -> nn.Module:
    return _timm("test_convnext", num_classes)


def list_backbones() -> list[str]:
    return sorted(_BACKBONES)


def get_backbone(name: str) -> BackboneInfo:
    if name not in _BACKBONES:
        raise SrprintError(f"unknown backbone {name!r}; known: {', '.join(list_backbones())}")
    return _BACKBONES[name]


def create_backbone(name: str, num_classes: int) -> nn.Module:
    """Create backbone ``name`` with a fresh ``num_classes`` head (random init, no download)."""
    return get_backbone(name).builder(num_classes)
