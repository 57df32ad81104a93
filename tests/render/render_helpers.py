"""Helpers of the render tests: build zoo entries from seeded, untrained tiny weights (instant)."""

from __future__ import annotations

from pathlib import Path

import torch

from srprint.io.checkpoints import save_weights
from srprint.zoo.archs import arch_config, create_arch
from srprint.zoo.entry import WEIGHTS_FILE, ZooEntry, labels_for_spec
from srprint.zoo.specs import parse_model_id

ZOO_IDS = ("EDSR-skimage-x2-L1-s1", "RCAN-skimage-x4-VGG+Adv-s2")


def add_model(zoo: Path, model_id: str) -> ZooEntry:
    """Write a complete zoo entry with seeded, untrained tiny weights."""
    spec = parse_model_id(model_id)
    torch.manual_seed(spec.seed)
    cfg = arch_config(spec.arch, "tiny")
    net = create_arch(spec.arch, spec.scale, config=cfg)
    folder = zoo / spec.id
    entry = ZooEntry(id=spec.id, source="trained", arch=spec.arch, scale=spec.scale, arch_config=cfg,
                     spec=spec.to_dict(), labels=labels_for_spec(spec), path=folder)
    save_weights(folder / WEIGHTS_FILE, net.state_dict())
    entry.save(folder)
    return entry
