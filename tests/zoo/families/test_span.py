"""SPAN (NTIRE 2024, team 38, re-parameterised): detection on its released checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.zoo.archs import create_arch
from srprint.zoo.detection import DETECTORS

from .port_checks import check_detected_port


@pytest.mark.shared
def test_published_checkpoint_is_detected_and_beats_bicubic(pretrained_dir: Path,
                                                           set5_crop: tuple[str, np.ndarray]) -> None:
    check_detected_port(pretrained_dir / "span_ntire2024/team38_span_ch28_slim.pth", set5_crop, name="SPAN-NTIRE24",
                        config={"feature_channels": 28}, input_range=(0.0, 1.0))


def test_detector_rejects_the_training_time_layout() -> None:
    # an un-merged SPAN (Conv3XC with sk/conv branches) is spandrel's, not this re-parameterised port
    state = dict(create_arch("SPAN-NTIRE24", 4, config={"feature_channels": 8}).state_dict())
    assert DETECTORS["SPAN-NTIRE24"](state) is not None
    state["conv_1.sk.weight"] = torch.zeros(8, 3, 1, 1)
    assert DETECTORS["SPAN-NTIRE24"](state) is None
