"""Every srprint port loads its real published checkpoint, beats bicubic, and round-trips exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.zoo.entry import ZooEntry
from srprint.zoo.evaluate import evaluate_sr
from srprint.zoo.imports import evaluate_restoration, import_checkpoint
from srprint.zoo.imports.core import _build, detect_architecture, read_checkpoint
from srprint.zoo.model import SRModel, load_model

# (file under pretrained/, expected arch, scale, minimum PSNR gain over bicubic on the crop in dB)
SR_PORTS = [
    ("imdn_official/IMDN_x4.pth", "IMDN", 4, 1.0),
    ("imdn_official/model_RTC.pth", "IMDN_RTC", 2, 1.0),
    ("imdn_official/model_RTE.pth", "IMDN_RTE", 2, 0.5),
    ("rfdn_aim2020/RFDN_AIM.pth", "RFDN", 4, 1.0),
    ("rlfn_official/rlfn_x4.pth", "RLFN", 4, 1.0),
    ("rlfn-s_official/rlfn_s_x2.pth", "RLFN_S", 2, 1.0),
    ("rlfn-ntire_official/rlfn_ntire_x4.pth", "RLFN_ntire", 4, 1.0),
    ("carn-m_official/carn_m.pth", "CARN-M", 4, 1.0),
    ("srgan_leftthomas/netG_epoch_4_100.pth", "SRGAN-SRResNet", 4, 0.3),
    ("fast-srgan_pytorch/model.pt", "Fast-SRGAN-SRResNet", 4, 0.1),
    # RealSR-trained (LR given at HR size): on bicubic-downscaled photos it is about bicubic quality
    ("imdn_official/IMDN_AS.pth", "IMDN_AS", 4, -1.0),
]


def _round_trip(path: Path, entry: ZooEntry) -> None:
    """The network built straight from the original file == the one loaded back from the zoo."""
    ck = read_checkpoint(path)
    det, _, _ = detect_architecture(ck)
    net = _build(det, det.state if det.state is not None else ck.state, entry.scale, path)
    direct = SRModel(net, entry.scale, entry.task, entry.input_range, entry.grey, entry.residual).eval()
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(load_model(ZooEntry.load(entry.path)).eval()(x), direct(x))


@pytest.mark.parametrize(("rel", "arch", "scale", "min_gain"), SR_PORTS, ids=[p[1] for p in SR_PORTS])
def test_port_beats_bicubic_and_round_trips(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray], tmp_path: Path,
                                            rel: str, arch: str, scale: int, min_gain: float) -> None:
    torch.set_num_threads(2)
    path = pretrained_dir / rel
    entry = import_checkpoint(path, tmp_path / "zoo", scale=scale)
    assert (entry.arch, entry.scale, entry.loader) == (arch, scale, "registry")
    res = evaluate_sr(load_model(entry), [set5_crop])
    assert res["psnr"] - res["bicubic_psnr"] > min_gain, res
    _round_trip(path, entry)


@pytest.mark.parametrize(("rel", "arch", "loader"), [("dncnn-s25_saoyan/net.pth", "DnCNN-BN", "registry"),
                                                     ("dncnn-s25_kair/dncnn_25.pth", "DnCNN", "spandrel")])
def test_denoisers_beat_the_noisy_input_and_round_trip(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
                                                       tmp_path: Path, rel: str, arch: str, loader: str) -> None:
    path = pretrained_dir / rel
    entry = import_checkpoint(path, tmp_path / "zoo", name="dn", task="denoise")
    assert (entry.arch, entry.loader, entry.task, entry.grey) == (arch, loader, "denoise", True)
    assert entry.labels["sigma"] == 25
    res = evaluate_restoration(load_model(entry), [set5_crop], entry)
    assert res["sigma"] == 25 and res["psnr"] > res["noisy_psnr"] + 6.0, res
    _round_trip(path, entry)
