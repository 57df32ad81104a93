"""ESPCN: OpenCV's TensorFlow graph, read without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srprint.zoo.imports.readers_tf import read_tf_graphdef
from srprint.zoo.quality import evaluate_sr

from .port_checks import model_of


@pytest.mark.shared
def test_published_graph_beats_bicubic(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_tf_graphdef(pretrained_dir / "espcn_opencv" / "ESPCN_x2.pb")
    assert rr.detection is not None and rr.detection.arch == "ESPCN"
    assert rr.detection.grey and rr.detection.scale == 2
    res = evaluate_sr(model_of(rr), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 0.8, res
