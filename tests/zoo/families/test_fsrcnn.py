"""FSRCNN and FSRCNN-small: OpenCV's TensorFlow graphs, read without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.zoo.archs import create_arch
from srprint.zoo.imports.readers_tf import load_graphdef, read_tf_graphdef, run_graphdef
from srprint.zoo.quality import evaluate_sr

from .port_checks import model_of


@pytest.mark.shared
@pytest.mark.parametrize("rel", ["fsrcnn_opencv/FSRCNN_x2.pb", "fsrcnn-small_opencv/FSRCNN-small_x2.pb"])
def test_published_graphs_beat_bicubic(rel: str, pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_tf_graphdef(pretrained_dir / rel)
    assert rr.detection is not None and rr.detection.arch == "FSRCNN"
    assert rr.detection.grey and rr.detection.scale == 2
    res = evaluate_sr(model_of(rr), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 0.8, res


@pytest.mark.shared
def test_port_equals_graph_evaluation(pretrained_dir: Path) -> None:
    p = pretrained_dir / "fsrcnn_opencv" / "FSRCNN_x3.pb"
    rr = read_tf_graphdef(p)
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("FSRCNN", 3)
    assert d.arch_config == {"d": 56, "s": 12, "m": 4, "feature_kernel": 5, "map_kernel": 3, "up_kernel": 1}
    net = create_arch(d.arch, 3, config=d.arch_config).eval()
    net.load_state_dict(rr.state)
    x = torch.rand(1, 1, 10, 13, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(net(x), run_graphdef(load_graphdef(p), x), atol=1e-5, rtol=1e-5)
