"""IMDN family: IMDN, IMDN_RTC, IMDN_RTE and IMDN_AS on their official checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .port_checks import check_imported_port

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("imdn_official/IMDN_x4.pth", "IMDN", 4, 1.0),
    ("imdn_official/model_RTC.pth", "IMDN_RTC", 2, 1.0),
    ("imdn_official/model_RTE.pth", "IMDN_RTE", 2, 0.5),
    # RealSR-trained (LR given at HR size): on bicubic-downscaled photos it is about bicubic quality
    ("imdn_official/IMDN_AS.pth", "IMDN_AS", 4, -1.0),
]


@pytest.mark.shared
@pytest.mark.parametrize(("rel", "arch", "scale", "min_gain"), CHECKPOINTS, ids=[c[1] for c in CHECKPOINTS])
def test_published_checkpoint_imports_beats_bicubic_and_round_trips(
        rel: str, arch: str, scale: int, min_gain: float, pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
        tmp_path: Path) -> None:
    check_imported_port(pretrained_dir / rel, tmp_path / "zoo", set5_crop, arch=arch, scale=scale, min_gain=min_gain)
