"""SAFMN (NTIRE 2023, team 15) on its released checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .port_checks import check_detected_port


@pytest.mark.shared
def test_published_checkpoint_is_detected_and_beats_bicubic(pretrained_dir: Path,
                                                           set5_crop: tuple[str, np.ndarray]) -> None:
    check_detected_port(pretrained_dir / "safmn_ntire2023/team15_SAFMN.pth", set5_crop, name="SAFMN-NTIRE23",
                        config={"dim": 36, "n_blocks": 8}, input_range=(0.0, 1.0))
