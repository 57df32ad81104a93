"""One more published family end to end, by ARCHITECTURE.md's recipe for a spandrel-supported one.

PLKSR (Partial Large Kernel CNNs for SR) has no srprint port: spandrel detects it, the ``spandrel``
loader rebuilds it, and it renders like any zoo model. The checkpoint is a randomly initialised
PLKSR saved in the official key layout by spandrel's own network class (no download).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from srprint.zoo.imports import import_file
from srprint.zoo.model import load_model


def _plksr_checkpoint(path: Path) -> Path:
    from spandrel.architectures.PLKSR.__arch.PLKSR import PLKSR

    torch.manual_seed(0)
    net = PLKSR(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7)
    torch.save(net.state_dict(), path)
    return path


def test_plksr_imports_rebuilds_and_renders(tmp_path: Path) -> None:
    from srprint.render.corpus import PrepareConfig, prepare_corpus
    from srprint.render.manifest import RenderedDataset
    from srprint.render.run import RenderConfig, render_dataset

    ckpt = _plksr_checkpoint(tmp_path / "plksr_tiny_x2.pth")
    zoo = tmp_path / "zoo"
    (entry,) = import_file(ckpt, zoo, name="plksr-tiny")
    assert (entry.arch, entry.scale, entry.loader, entry.task) == ("PLKSR", 2, "spandrel", "sr")
    model = load_model(entry)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        y = model.infer(x)
    assert y.shape[-2:] == (32, 32) and torch.isfinite(y).all()
    corpus = tmp_path / "corpus"
    prepare_corpus(["skimage:astronaut,chelsea"], corpus, PrepareConfig(long_side=64))
    summary = render_dataset(zoo, corpus, tmp_path / "render", cfg=RenderConfig(hr_crop=32), device="cpu")
    assert not summary.failures
    frame = RenderedDataset.open(tmp_path / "render").frame
    rows = frame[frame["model_id"] == entry.id]
    assert len(rows) == 2 and set(rows["arch"]) == {"PLKSR"}
    assert np.all(rows["width"] == 32)
