"""CARN-M on its official checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .port_checks import check_imported_port

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("carn-m_official/carn_m.pth", "CARN-M", 4, 1.0),
]


@pytest.mark.shared
@pytest.mark.parametrize(("rel", "arch", "scale", "min_gain"), CHECKPOINTS, ids=[c[1] for c in CHECKPOINTS])
def test_published_checkpoint_imports_beats_bicubic_and_round_trips(
        rel: str, arch: str, scale: int, min_gain: float, pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
        tmp_path: Path) -> None:
    check_imported_port(pretrained_dir / rel, tmp_path / "zoo", set5_crop, arch=arch, scale=scale, min_gain=min_gain)
