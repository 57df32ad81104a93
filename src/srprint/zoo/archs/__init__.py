"""Registry of SR architectures, in the style of timm's ``register_model``.

Each family lives in one file and registers a builder ``fn(scale, **config) -> nn.Module`` together
with its size presets (``paper``: the published / BasicSR configuration; ``tiny``: the same topology
shrunk to <= 400k parameters so it trains on a CPU in minutes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ...errors import SpecError
from ...registries import Registry

SIZE_PRESETS = ("tiny", "paper")


@dataclass(frozen=True)
class ArchInfo:
    """A registered architecture: builder, size presets and descriptive metadata."""

    name: str
    builder: Callable[..., nn.Module]
    presets: dict[str, dict[str, Any]]
    scales: tuple[int, ...] = (2, 3, 4)
    reference: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: Registry[ArchInfo] = Registry("architecture", error=SpecError)


def register_arch(
    name: str,
    presets: dict[str, dict[str, Any]],
    scales: tuple[int, ...] = (2, 3, 4),
    *, reference: str = "",
    tags: tuple[str, ...] = (),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering ``builder(scale, **config)`` under ``name``."""

    return _REGISTRY.decorator(name, lambda fn: ArchInfo(name, fn, presets, scales, reference, tags))


def list_archs() -> list[str]:
    _ensure_loaded()
    return _REGISTRY.names()


def get_arch(name: str) -> ArchInfo:
    _ensure_loaded()
    return _REGISTRY.lookup(name)


def arch_config(name: str, size: str = "tiny", **overrides: Any) -> dict[str, Any]:
    """The constructor config of ``name`` at size preset ``size`` (plus overrides).

    Raises
    ------
    SpecError
        On: "architecture … has no size preset …; known: …".
    """
    info = get_arch(name)
    if size not in info.presets:
        raise SpecError(f"architecture {name} has no size preset {size!r}; known: {', '.join(info.presets)}")
    return {**info.presets[size], **overrides}


def create_arch(name: str, scale: int, size: str = "tiny", *, config: dict[str, Any] | None = None) -> nn.Module:
    """Build architecture ``name`` for ``scale`` from a preset or an explicit config.

    Raises
    ------
    SpecError
        On: "architecture … does not support scale x…; supported: …".
    """
    info = get_arch(name)
    if scale not in info.scales:
        raise SpecError(f"architecture {name} does not support scale x{scale}; supported: {info.scales}")
    cfg = dict(config) if config is not None else arch_config(name, size)
    return info.builder(scale=scale, **cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Every architecture module, in registration order: srprint's own families here, then the networks
# of the published families (srprint.zoo.families), so an imported zoo entry rebuilds without the
# import machinery.
BUILTIN_MODULES = ("edsr", "nlsn", "rcan", "rdn", "swinir")
_LOADED = False
_LOADING = threading.RLock()


def _ensure_loaded() -> None:
    global _LOADED
    # a second thread waits until the first has filled the registry (it saw "known: none" before: the
    # demo's two trace threads); the same thread re-entering (a module importing get_arch) returns at once
    with _LOADING:
        if _LOADED:
            return
        _LOADED = True
        import importlib
        import warnings

        from ..families import NETWORKS

        for name in BUILTIN_MODULES:
            importlib.import_module(f"{__name__}.{name}")
        for family in NETWORKS:
            try:
                importlib.import_module(f"srprint.zoo.families.{family}.network")
            except Exception as exc:  # noqa: BLE001 - one broken port must not hide the others
                warnings.warn(f"architecture family {family} unavailable ({exc})", stacklevel=2)
