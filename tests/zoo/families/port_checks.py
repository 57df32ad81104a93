"""The checks every published family's test runs on its real checkpoints (spandrel style).

* :func:`check_imported_port`: ``import_checkpoint`` picks the port, the model beats bicubic on a
  real photo crop, and the zoo entry rebuilds the same network as the original file.
* :func:`check_detected_port`: the family's detector reads config, scale and input range off the
  state dict, and the port built from them beats bicubic.
* :func:`model_of`: the network a file reader's result describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from srprint.io.checkpoints import load_state_dict
from srprint.zoo.archs import create_arch
from srprint.zoo.detection import DETECTORS, ReadResult
from srprint.zoo.entry import ZooEntry
from srprint.zoo.imports import import_checkpoint
from srprint.zoo.imports.core import _build, detect_architecture, read_checkpoint
from srprint.zoo.model import SRModel, load_model
from srprint.zoo.quality import evaluate_sr


def round_trip(path: Path, entry: ZooEntry) -> None:
    """The network built straight from the original file == the one loaded back from the zoo."""
    ck = read_checkpoint(path)
    det, _, _ = detect_architecture(ck)
    net = _build(det, det.state if det.state is not None else ck.state, entry.scale, path)
    direct = SRModel(net, entry.scale, entry.task, entry.input_range, entry.grey, entry.residual).eval()
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(load_model(ZooEntry.load(entry.path)).eval()(x), direct(x))


def check_imported_port(path: Path, zoo: Path, crop: tuple[str, np.ndarray], *, arch: str, scale: int,
                        min_gain: float) -> ZooEntry:
    """Import ``path`` as ``arch`` at ``scale``; it must beat bicubic by ``min_gain`` dB and round-trip."""
    torch.set_num_threads(2)
    entry = import_checkpoint(path, zoo, scale=scale)
    assert (entry.arch, entry.scale, entry.loader) == (arch, scale, "registry")
    res = evaluate_sr(load_model(entry), [crop])
    assert res["psnr"] - res["bicubic_psnr"] > min_gain, res
    round_trip(path, entry)
    return entry


def check_detected_port(path: Path, crop: tuple[str, np.ndarray], *, name: str, config: dict[str, Any],
                        input_range: tuple[float, float]) -> None:
    """The detector ``name`` recognises the x4 file ``path``; its port beats bicubic by 3 dB."""
    raw = load_state_dict(path)
    det = DETECTORS[name](raw)
    assert det is not None and det.arch == name and det.scale == 4 and det.task == "sr"
    assert det.input_range == input_range
    assert config.items() <= det.arch_config.items()
    assert "x4" in det.scale_evidence
    state = det.state if det.state is not None else raw
    net = create_arch(name, 4, config=det.arch_config)
    net.load_state_dict(state, strict=True)
    res = evaluate_sr(SRModel(net, 4, input_range=det.input_range).eval(), [crop])
    assert res["psnr"] > res["bicubic_psnr"] + 3.0, res


def model_of(rr: ReadResult) -> SRModel:
    """The model a file reader's result describes, with its weights loaded."""
    d = rr.detection
    assert d is not None
    net = create_arch(d.arch, d.scale, config=d.arch_config)
    net.load_state_dict(rr.state, strict=True)
    return SRModel(net, d.scale, d.task, d.input_range, d.grey, d.residual).eval()


def imported_port_test(checkpoints: list[tuple[str, str, int, float]]) -> Any:
    """The test of a family's published checkpoints, ``(file under pretrained/, arch, scale, min gain dB)``.

    Each file must import as its arch, beat bicubic by the gain on the photo crop, and round-trip.
    """
    import pytest

    @pytest.mark.shared
    @pytest.mark.parametrize(("rel", "arch", "scale", "min_gain"), checkpoints, ids=[c[1] for c in checkpoints])
    def test_published_checkpoint_imports_beats_bicubic_and_round_trips(
            rel: str, arch: str, scale: int, min_gain: float, pretrained_dir: Path,
            set5_crop: tuple[str, np.ndarray], tmp_path: Path) -> None:
        check_imported_port(pretrained_dir / rel, tmp_path / "zoo", set5_crop, arch=arch, scale=scale,
                            min_gain=min_gain)

    return test_published_checkpoint_imports_beats_bicubic_and_round_trips
