"""Fast-SRGAN's Keras generator (.h5): HWIO kernels, depthwise convs and TF's DepthToSpace order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srprint.zoo.detection import ReadResult
from srprint.zoo.imports.readers_keras import read_keras_h5
from srprint.zoo.imports.readers_tf import depth_to_space_permutation
from srprint.zoo.quality import evaluate_sr

from .port_checks import model_of


@pytest.mark.shared
def test_keras_generator_is_close_to_bicubic_and_needs_the_channel_permutation(
        pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_keras_h5(pretrained_dir / "fast-srgan_keras" / "generator.h5")
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("FastSRGAN-Keras", 4)
    assert d.arch_config == {"filters": 32, "n_blocks": 6, "expansion": 6, "eps": 0.001}
    res = evaluate_sr(model_of(rr), [set5_crop])
    # a GAN generator: close to bicubic in PSNR (slightly below on this crop), far from garbage
    assert res["psnr"] > res["bicubic_psnr"] - 1.0, res
    # without the TF->torch DepthToSpace channel permutation the output is ruined
    bad = dict(rr.state)
    inv = list(np.argsort(depth_to_space_permutation(32, 2)))
    for s in range(2):
        bad[f"upsample.{s}.0.weight"] = rr.state[f"upsample.{s}.0.weight"][inv]
        bad[f"upsample.{s}.0.bias"] = rr.state[f"upsample.{s}.0.bias"][inv]
    res_bad = evaluate_sr(model_of(ReadResult(state=bad, detection=d)), [set5_crop])
    assert res_bad["psnr"] < res["psnr"] - 5.0
