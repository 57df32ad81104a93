"""Every srprint port loads its real published checkpoint, beats bicubic, and round-trips exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.zoo.entry import ZooEntry
from srprint.zoo.imports import evaluate_restoration, import_checkpoint
from srprint.zoo.imports.core import _build, detect_architecture, read_checkpoint
from srprint.zoo.model import SRModel, load_model
from srprint.zoo.quality import evaluate_sr

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


@pytest.mark.parametrize("arch", ["RFDN", "RLFN", "RLFN_S", "RLFN_ntire"])
def test_esa_ports_accept_inputs_below_the_esa_minimum(arch: str) -> None:
    """The ESA branch needs 15 px; smaller inputs are replicate-padded and the output cropped back."""
    import torch.nn.functional as F

    from srprint.zoo.archs import create_arch
    from srprint.zoo.archs.ports_esa import ESA_MIN_SIZE

    torch.manual_seed(0)
    net = create_arch(arch, 4, size="paper").eval()
    x = torch.rand(1, 3, 9, 13)
    with torch.no_grad():
        y = net(x)
        padded = net(F.pad(x, (0, ESA_MIN_SIZE - 13, 0, ESA_MIN_SIZE - 9), mode="replicate"))
        big = torch.rand(1, 3, ESA_MIN_SIZE, 17)
        y_big = net(big)
    assert y.shape == (1, 3, 36, 52) and torch.isfinite(y).all()
    assert torch.equal(y, padded[..., :36, :52])
    assert y_big.shape == (1, 3, 4 * ESA_MIN_SIZE, 68)


@pytest.mark.shared
def test_rlfn_x4_on_a_tiny_image_beats_bicubic(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
                                               tmp_path: Path) -> None:
    entry = import_checkpoint(pretrained_dir / "rlfn_official" / "rlfn_x4.pth", tmp_path / "zoo", scale=4)
    name, img = set5_crop
    res = evaluate_sr(load_model(entry), [(name, img[32:88, 32:88])])  # 56 px HR -> 14 px LR (< 15)
    assert res["psnr"] > res["bicubic_psnr"], res


def test_no_antialias_downscale_matches_torch_and_cv2_convention() -> None:
    """The 'authors' degradation' LR (cv2 INTER_CUBIC) equals torch's non-antialiased bicubic."""
    import torch.nn.functional as F

    from srprint.zoo.imports.restoration_check import downscale_no_antialias

    x = torch.rand(3, 48, 72, generator=torch.Generator().manual_seed(3))
    for s in (2, 3, 4, 8):
        ref = F.interpolate(x[None], size=(48 // s, 72 // s), mode="bicubic", align_corners=False)[0].clamp(0, 1)
        assert torch.allclose(downscale_no_antialias(x, s, quantize=False), ref, atol=1e-5)
    # TF's a=-0.5 kernel is a different LR; srprint's antialiased one differs again
    cv2_like = downscale_no_antialias(x, 4, quantize=False)
    assert not torch.allclose(downscale_no_antialias(x, 4, -0.5, quantize=False), cv2_like, atol=1e-3)
