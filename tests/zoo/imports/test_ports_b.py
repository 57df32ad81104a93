"""NTIRE efficient-SR ports (BSRN, FMEN, EFDN, MobileSR, SAFMN-NTIRE23, SPAN-NTIRE24) on their real checkpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import srprint.zoo.imports  # noqa: F401  (registers ports and detectors)
from srprint.io.checkpoints import load_state_dict
from srprint.zoo.archs import create_arch
from srprint.zoo.imports import import_checkpoint
from srprint.zoo.imports.core import detect_architecture, read_checkpoint
from srprint.zoo.imports.detection import DETECTORS
from srprint.zoo.imports.detectors_b import unwrap_state
from srprint.zoo.model import SRModel, load_model
from srprint.zoo.quality import evaluate_sr

# (file under pretrained/, detector / arch name, expected config subset, input range)
PORTS_B = [
    ("bsrn_ntire2022/team18_bsrn.pth", "BSRN", {"num_feat": 48, "num_block": 5}, (0.0, 1.0)),
    ("fmen_ntire2022/team03_fmen.pth", "FMEN", {"n_feats": 50, "up_blocks": [2, 1, 1, 1, 1]}, (0.0, 255.0)),
    ("efdn_ntire2022/team01_efdn.pth", "EFDN", {"n_feats": 48}, (0.0, 1.0)),
    ("mobilesr_ntire2022/team20_mobilesr.pth", "MobileSR", {"n_feats": 40, "ratios": [4, 2, 2, 2, 4]}, (0.0, 1.0)),
    ("safmn_ntire2023/team15_SAFMN.pth", "SAFMN-NTIRE23", {"dim": 36, "n_blocks": 8}, (0.0, 1.0)),
    ("span_ntire2024/team38_span_ch28_slim.pth", "SPAN-NTIRE24", {"feature_channels": 28}, (0.0, 1.0)),
]
NAMES = [p[1] for p in PORTS_B]


@pytest.mark.shared
@pytest.mark.parametrize(("rel", "name", "cfg", "input_range"), PORTS_B, ids=NAMES)
def test_port_detects_and_beats_bicubic(rel: str, name: str, cfg: dict, input_range: tuple[float, float],
                                        pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    raw = load_state_dict(pretrained_dir / rel)
    det = DETECTORS[name](raw)
    assert det is not None and det.arch == name and det.scale == 4 and det.task == "sr"
    assert det.input_range == input_range
    assert cfg.items() <= det.arch_config.items()
    assert "x4" in det.scale_evidence
    state = det.state if det.state is not None else raw
    net = create_arch(name, 4, config=det.arch_config)
    net.load_state_dict(state, strict=True)
    res = evaluate_sr(SRModel(net, 4, input_range=det.input_range).eval(), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 3.0, res


@pytest.mark.shared
def test_detectors_claim_only_their_own_layout(pretrained_dir: Path) -> None:
    states = {name: load_state_dict(pretrained_dir / rel) for rel, name, _, _ in PORTS_B}
    for name, raw in states.items():
        claims = [other for other in NAMES if DETECTORS[other](raw) is not None]
        assert claims == [name]
    # and none of them claims a foreign layout (an IMDN state dict)
    imdn = load_state_dict(pretrained_dir / "imdn_official" / "IMDN_x4.pth")
    assert all(DETECTORS[n](imdn) is None for n in NAMES)


def test_training_checkpoint_is_unwrapped() -> None:
    w = torch.zeros(2)
    sd, notes = unwrap_state({"net": {"a.weight": w}, "optimizer": {"state": {}}, "epoch": 3})
    assert list(sd) == ["a.weight"] and notes == ["weights taken from nested key 'net'"]
    flat, none = unwrap_state({"a.weight": w})
    assert list(flat) == ["a.weight"] and none == []


def test_span_detector_rejects_training_time_layout() -> None:
    # an un-merged SPAN (Conv3XC with sk/conv branches) is spandrel's, not this re-parameterised port
    state = {k: v for k, v in create_arch("SPAN-NTIRE24", 4, config={"feature_channels": 8}).state_dict().items()}
    assert DETECTORS["SPAN-NTIRE24"](state) is not None
    state["conv_1.sk.weight"] = torch.zeros(8, 3, 1, 1)
    assert DETECTORS["SPAN-NTIRE24"](state) is None


@pytest.mark.shared
def test_import_pipeline_picks_port_and_round_trips(pretrained_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    path = pretrained_dir / "fmen_ntire2022" / "team03_fmen.pth"
    det, detected_by, tried = detect_architecture(read_checkpoint(path))
    assert (det.arch, detected_by) == ("FMEN", "FMEN") and any("spandrel" in t for t in tried)
    entry = import_checkpoint(path, tmp_path / "zoo", name="fmen")
    assert entry.id == "fmen-pretrained" and entry.input_range == (0.0, 255.0)
    direct = create_arch("FMEN", 4, config=det.arch_config)
    direct.load_state_dict(load_state_dict(path), strict=True)
    x = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    want = SRModel(direct, 4, input_range=(0.0, 255.0)).eval().infer(x)
    got = load_model(tmp_path / "zoo" / entry.id).infer(x)
    assert torch.equal(got, want)
    # a fresh process that never imports srprint.zoo.imports still rebuilds the port from the zoo
    code = ("import sys, torch; from srprint.zoo.model import load_model; "
            "m = load_model(sys.argv[1]); print(tuple(m.infer(torch.zeros(1, 3, 16, 16)).shape))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "zoo" / entry.id)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip().endswith("(1, 3, 64, 64)")
