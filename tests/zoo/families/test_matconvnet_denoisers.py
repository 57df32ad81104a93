"""MatConvNet denoisers (colour/grey DnCNN, FFDNet) from their v7.3 .mat files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.degradation import to_numpy, to_tensor
from srprint.zoo.imports import import_file
from srprint.zoo.imports.readers_matconvnet import read_matconvnet
from srprint.zoo.quality import psnr_rgb

from .port_checks import model_of


def _noisy(img: np.ndarray, sigma: float, grey: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    x = to_tensor(img)[None]
    if grey:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).repeat(1, 3, 1, 1)
        noise = torch.randn(1, 1, *x.shape[2:], generator=torch.Generator().manual_seed(0)).repeat(1, 3, 1, 1)
    else:
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return x, x + noise * sigma / 255.0


@pytest.mark.shared
@pytest.mark.parametrize(("rel", "arch", "grey", "residual"), [
    ("cdncnn-b_matconvnet/GD_Color_Blind.mat", "DnCNN-MCN", False, True),
    ("dncnn3_matconvnet/DnCNN3.mat", "DnCNN-MCN", True, True),
    ("ffdnet-color_matconvnet/FFDNet_color.mat", "FFDNet", False, False),
])
def test_matconvnet_denoisers_beat_noisy_input(rel: str, arch: str, grey: bool, residual: bool,
                                               pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_matconvnet(pretrained_dir / rel)
    d = rr.detection
    assert d is not None and (d.arch, d.task, d.scale, d.grey, d.residual) == (arch, "denoise", 1, grey, residual)
    clean, noisy = _noisy(set5_crop[1][:96, :96], 25.0, grey=grey)
    out = model_of(rr).infer(noisy)
    gain = psnr_rgb(to_numpy(out[0]), to_numpy(clean[0])) - psnr_rgb(to_numpy(noisy[0].clamp(0, 1)),
                                                                       to_numpy(clean[0]))
    assert gain > 7.0, gain


@pytest.mark.shared
def test_ffdnet_sigma_option_reaches_the_network(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
                                                 tmp_path: Path) -> None:
    """``--sigma`` sets FFDNet's noise-level map (arch_config), not only the label: it denoises at that level."""
    import json

    from typer.testing import CliRunner

    from srprint.cli import app
    from srprint.zoo.entry import Zoo, ZooEntry
    from srprint.zoo.model import load_model

    path = pretrained_dir / "ffdnet-color_matconvnet" / "FFDNet_color.mat"
    res = CliRunner().invoke(app, ["zoo", "import", str(path), "--zoo", str(tmp_path / "zoo"), "--name", "ff50",
                                   "--task", "denoise", "--sigma", "50", "--json"])
    assert res.exit_code == 0, res.output
    entry = Zoo(tmp_path / "zoo").get(json.loads(res.output)["entries"][0]["id"])
    assert entry.arch_config["sigma"] == 50.0 and entry.labels["sigma"] == 50
    assert load_model(entry).net.sigma == 50.0
    default = import_file(path, tmp_path / "zoo", name="ff", task="denoise")[0]
    assert default.arch_config["sigma"] == 25.0 and default.labels["sigma"] == 25
    clean, noisy = _noisy(set5_crop[1][:96, :96], 50.0)

    def gain(e: ZooEntry) -> float:
        out = load_model(e).infer(noisy)
        return psnr_rgb(to_numpy(out[0]), to_numpy(clean[0])) - psnr_rgb(to_numpy(noisy[0]), to_numpy(clean[0]))

    assert gain(entry) > gain(default) + 0.5
