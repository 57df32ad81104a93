"""BSRN (NTIRE 2022, team 18) on its released checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .port_checks import check_detected_port


@pytest.mark.shared
def test_published_checkpoint_is_detected_and_beats_bicubic(pretrained_dir: Path,
                                                           set5_crop: tuple[str, np.ndarray]) -> None:
    check_detected_port(pretrained_dir / "bsrn_ntire2022/team18_bsrn.pth", set5_crop, name="BSRN",
                        config={"num_feat": 48, "num_block": 5}, input_range=(0.0, 1.0))
