"""The detectors' shared shape helpers, and the rule that each detector claims only its own layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import srprint.zoo.imports  # noqa: F401  (registers every family's detector)
from srprint.io.checkpoints import load_state_dict
from srprint.zoo.detection import DETECTORS
from srprint.zoo.families.state_dicts import unwrap_state

# the NTIRE efficient-SR releases: (file under pretrained/, detector name)
NTIRE = [
    ("bsrn_ntire2022/team18_bsrn.pth", "BSRN"), ("fmen_ntire2022/team03_fmen.pth", "FMEN"),
    ("efdn_ntire2022/team01_efdn.pth", "EFDN"), ("mobilesr_ntire2022/team20_mobilesr.pth", "MobileSR"),
    ("safmn_ntire2023/team15_SAFMN.pth", "SAFMN-NTIRE23"), ("span_ntire2024/team38_span_ch28_slim.pth", "SPAN-NTIRE24"),
]


@pytest.mark.shared
def test_detectors_claim_only_their_own_layout(pretrained_dir: Path) -> None:
    names = [n for _, n in NTIRE]
    for rel, name in NTIRE:
        raw = load_state_dict(pretrained_dir / rel)
        assert [other for other in names if DETECTORS[other](raw) is not None] == [name]
    # and none of them claims a foreign layout (an IMDN state dict)
    imdn = load_state_dict(pretrained_dir / "imdn_official" / "IMDN_x4.pth")
    assert all(DETECTORS[n](imdn) is None for n in names)


def test_training_checkpoint_is_unwrapped() -> None:
    w = torch.zeros(2)
    sd, notes = unwrap_state({"net": {"a.weight": w}, "optimizer": {"state": {}}, "epoch": 3})
    assert list(sd) == ["a.weight"] and notes == ["weights taken from nested key 'net'"]
    flat, none = unwrap_state({"a.weight": w})
    assert list(flat) == ["a.weight"] and none == []
