"""DnCNN with explicit batch norm (SaoYan) is this family's; KAIR's DnCNN layout goes to spandrel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srprint.zoo.imports import evaluate_restoration, import_checkpoint
from srprint.zoo.model import load_model

from .port_checks import round_trip


@pytest.mark.shared
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
    round_trip(path, entry)
