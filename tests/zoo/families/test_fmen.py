"""FMEN (NTIRE 2022, team 03): detection, and the full import pipeline on its released checkpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.io.checkpoints import load_state_dict
from srprint.zoo.archs import create_arch
from srprint.zoo.imports import import_checkpoint
from srprint.zoo.imports.core import detect_architecture, read_checkpoint
from srprint.zoo.model import SRModel, load_model

from .port_checks import check_detected_port

FMEN = "fmen_ntire2022/team03_fmen.pth"


@pytest.mark.shared
def test_published_checkpoint_is_detected_and_beats_bicubic(pretrained_dir: Path,
                                                           set5_crop: tuple[str, np.ndarray]) -> None:
    check_detected_port(pretrained_dir / FMEN, set5_crop, name="FMEN",
                        config={"n_feats": 50, "up_blocks": [2, 1, 1, 1, 1]}, input_range=(0.0, 255.0))


@pytest.mark.shared
def test_import_pipeline_picks_port_and_round_trips(pretrained_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    path = pretrained_dir / FMEN
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
