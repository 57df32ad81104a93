"""Fixtures for the checkpoint-import tests: tiny synthetic checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch


def _make_rtc_checkpoint(path: Path, scale: int = 2, seed: int = 0, wrap: bool = True) -> dict[str, torch.Tensor]:
    """A randomly initialised IMDN_RTC saved like the official file (nested, 'module.' prefix)."""
    import srprint.zoo.imports  # noqa: F401  (registers the ports)
    from srprint.zoo.archs import create_arch

    torch.manual_seed(seed)
    net = create_arch("IMDN_RTC", scale, config={"nf": 12, "num_modules": 2})
    state = {k: v.clone() for k, v in net.state_dict().items()}
    obj = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}} if wrap else state
    torch.save(obj, path)
    return state


@pytest.fixture
def make_rtc() -> Callable[..., dict[str, torch.Tensor]]:
    return _make_rtc_checkpoint
