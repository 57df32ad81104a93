"""Tiny random-initialised zoo entries for the verification tests (no training: CPU is scarce)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from srprint.io.checkpoints import save_weights
from srprint.zoo.archs import create_arch
from srprint.zoo.entry import ZooEntry
from srprint.zoo.model import register_loader

torch.set_num_threads(1)  # much faster than 2 threads on the shared, busy 2-core machine
TINY_EDSR = {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0}


class TinyDenoiser(nn.Module):
    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, features, 3, padding=1), nn.ReLU(), nn.Conv2d(features, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register_loader("test-tiny-denoiser")
def _load_tiny_denoiser(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    net = TinyDenoiser(**entry.arch_config)
    net.load_state_dict(state)
    return net


def make_sr_entry(root: Path, name: str, seed: int, scale: int = 2) -> ZooEntry:
    torch.manual_seed(seed)
    net = create_arch("EDSR", scale, config=TINY_EDSR)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(folder / "model.safetensors", net.state_dict())
    entry = ZooEntry(id=name, source="trained", arch="EDSR", scale=scale, task="sr", arch_config=dict(TINY_EDSR),
                     labels={"arch": "EDSR", "seed": seed})
    entry.save(folder)
    return entry


def make_denoiser_entry(root: Path, name: str = "tiny-denoiser", seed: int = 0) -> ZooEntry:
    torch.manual_seed(seed)
    net = TinyDenoiser()
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(folder / "model.safetensors", net.state_dict())
    entry = ZooEntry(id=name, source="imported", arch="TinyDenoiser", scale=1, task="denoise",
                     arch_config={"features": 8}, loader="test-tiny-denoiser", residual=True)
    entry.save(folder)
    return entry


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verif_zoo")
    make_sr_entry(root, "EDSR-tiny-x2-s1", 1)
    make_sr_entry(root, "EDSR-tiny-x2-s2", 2)
    make_denoiser_entry(root)
    return root


@pytest.fixture(autouse=True)
def _srprint_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SRPRINT_HOME", str(home))
    monkeypatch.setenv("SRPRINT_QUIET", "1")
    return home
