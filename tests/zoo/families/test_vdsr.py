"""VDSR: its only published file is a pickled module, so it imports only with --allow-pickle."""

from __future__ import annotations

from pathlib import Path

import pytest

from srprint.errors import UnsafeCheckpointError
from srprint.zoo.imports import import_checkpoint


@pytest.mark.shared
def test_vdsr_imports_only_with_allow_pickle_and_a_loud_warning(pretrained_dir: Path, tmp_path: Path) -> None:
    path = pretrained_dir / "vdsr_twtygqyy" / "model_epoch_50.pth"
    with pytest.raises(UnsafeCheckpointError):
        import_checkpoint(path, tmp_path / "zoo", name="vdsr", scale=2)
    with pytest.warns(UserWarning, match="UNSAFE"):
        entry = import_checkpoint(path, tmp_path / "zoo", name="vdsr", scale=2, allow_pickle=True)
    assert (entry.arch, entry.scale, entry.grey, entry.id) == ("VDSR", 2, True, "vdsr-pretrained")
    assert "took state_dict() of a pickled module" in entry.imported["normalisation"]
