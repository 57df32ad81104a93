"""LapSRN: OpenCV's TensorFlow graph (two pyramid levels at x4), read without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srprint.zoo.imports.readers_tf import read_tf_graphdef
from srprint.zoo.quality import evaluate_sr

from .port_checks import model_of


@pytest.mark.shared
def test_x4_graph_has_two_pyramid_levels_and_beats_bicubic(pretrained_dir: Path,
                                                          set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_tf_graphdef(pretrained_dir / "lapsrn_opencv" / "LapSRN_x4.pb")
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("LapSRN", 4)
    assert d.arch_config["level_input"] == "residual" and d.arch_config["slope"] == pytest.approx(0.2)
    assert sum(1 for k in rr.state if k.endswith("image_up.weight")) == 2
    res = evaluate_sr(model_of(rr), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 0.3, res
