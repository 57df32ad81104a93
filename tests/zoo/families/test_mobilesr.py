"""MobileSR (NTIRE 2022, team 20) on its released checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .port_checks import check_detected_port


@pytest.mark.shared
def test_published_checkpoint_is_detected_and_beats_bicubic(pretrained_dir: Path,
                                                           set5_crop: tuple[str, np.ndarray]) -> None:
    check_detected_port(pretrained_dir / "mobilesr_ntire2022/team20_mobilesr.pth", set5_crop, name="MobileSR",
                        config={"n_feats": 40, "ratios": [4, 2, 2, 2, 4]}, input_range=(0.0, 1.0))
