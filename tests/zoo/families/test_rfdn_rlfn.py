"""RFDN and the RLFN family (RLFN, RLFN-S, NTIRE RLFN) on their official checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srprint.zoo.archs import create_arch
from srprint.zoo.families.rfdn_rlfn.network import ESA_MIN_SIZE
from srprint.zoo.imports import import_checkpoint
from srprint.zoo.model import load_model
from srprint.zoo.quality import evaluate_sr

from .port_checks import imported_port_test

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("rfdn_aim2020/RFDN_AIM.pth", "RFDN", 4, 1.0),
    ("rlfn_official/rlfn_x4.pth", "RLFN", 4, 1.0),
    ("rlfn-s_official/rlfn_s_x2.pth", "RLFN_S", 2, 1.0),
    ("rlfn-ntire_official/rlfn_ntire_x4.pth", "RLFN_ntire", 4, 1.0),
]

test_published_checkpoint_imports_beats_bicubic_and_round_trips = imported_port_test(CHECKPOINTS)


@pytest.mark.parametrize("arch", ["RFDN", "RLFN", "RLFN_S", "RLFN_ntire"])
def test_inputs_below_the_esa_minimum_are_padded_and_cropped_back(arch: str) -> None:
    """The ESA branch needs 15 px; smaller inputs are replicate-padded and the output cropped back."""
    torch.manual_seed(0)
    net = create_arch(arch, 4, size="paper").eval()
    x = torch.rand(1, 3, 9, 13)
    with torch.no_grad():
        y = net(x)
        padded = net(F.pad(x, (0, ESA_MIN_SIZE - 13, 0, ESA_MIN_SIZE - 9), mode="replicate"))
        big = torch.rand(1, 3, ESA_MIN_SIZE, 17)
        y_big = net(big)
    assert y.shape == (1, 3, 36, 52) and torch.isfinite(y).all()
    assert torch.equal(y, padded[..., :36, :52])
    assert y_big.shape == (1, 3, 4 * ESA_MIN_SIZE, 68)


@pytest.mark.shared
def test_rlfn_x4_on_a_tiny_image_beats_bicubic(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
                                               tmp_path: Path) -> None:
    entry = import_checkpoint(pretrained_dir / "rlfn_official" / "rlfn_x4.pth", tmp_path / "zoo", scale=4)
    name, img = set5_crop
    res = evaluate_sr(load_model(entry), [(name, img[32:88, 32:88])])  # 56 px HR -> 14 px LR (< 15)
    assert res["psnr"] > res["bicubic_psnr"], res
