"""Hostile and broken checkpoint files are refused with one clear error and leave the zoo unchanged."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from srprint.errors import CheckpointError, UnsafeCheckpointError
from srprint.zoo.imports import import_checkpoint


class _Exploit:
    """Unpickling this calls open(marker, 'w'): creates a file if the pickle is ever executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.marker, "w"))


def _zoo_is_empty(zoo: Path) -> bool:
    return not zoo.exists() or not [p for p in zoo.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("fmt", ["legacy-pickle", "torch-zip"])
def test_malicious_pickle_is_refused_and_never_executed(tmp_path: Path, fmt: str) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pth"
    payload = {"state_dict": {"w": torch.zeros(2)}, "x": _Exploit(marker)}
    if fmt == "legacy-pickle":
        evil.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, evil)
    zoo = tmp_path / "zoo"
    with pytest.raises(UnsafeCheckpointError, match="allow-pickle"):
        import_checkpoint(evil, zoo)
    assert not marker.exists()
    assert _zoo_is_empty(zoo)


def test_cli_refuses_malicious_pickle_with_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(_Exploit(marker), protocol=2))
    env = {**os.environ, "SRPRINT_QUIET": "1"}
    proc = subprocess.run([sys.executable, "-m", "srprint.cli", "zoo", "import", str(evil), "--zoo",
                           str(tmp_path / "zoo")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    err_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1 and err_lines[0].startswith("error:") and "evil.pt" in err_lines[0]
    assert not marker.exists()
    assert _zoo_is_empty(tmp_path / "zoo")


def test_vdsr_whole_module_pickle_is_refused(pretrained_dir: Path, tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    with pytest.raises(UnsafeCheckpointError, match=r"vdsr\.Net.*--allow-pickle|--allow-pickle"):
        import_checkpoint(pretrained_dir / "vdsr_twtygqyy" / "model_epoch_50.pth", zoo)
    assert _zoo_is_empty(zoo)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="directory"):
        import_checkpoint(tmp_path, tmp_path / "zoo")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        import_checkpoint(tmp_path / "nope.pth", tmp_path / "zoo")
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        import_checkpoint(tmp_path / "empty.pth", tmp_path / "zoo")


def test_truncated_file_is_a_clear_error(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    good = tmp_path / "good.pth"
    make_rtc(good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth"):
        import_checkpoint(bad, tmp_path / "zoo")
    assert _zoo_is_empty(tmp_path / "zoo")


def test_unknown_state_dict_lists_what_was_tried(tmp_path: Path) -> None:
    odd = tmp_path / "odd.pth"
    torch.save({"encoder.layer0.weight": torch.zeros(8, 3, 5, 5), "decoder.fc.bias": torch.zeros(8)}, odd)
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(odd, tmp_path / "zoo")
    msg = str(info.value)
    assert "unknown architecture" in msg and "spandrel" in msg
    for name in ("IMDN", "RFDN", "RLFN", "CARN-M", "DnCNN-BN"):
        assert name in msg
    assert "\n" not in msg


def test_unsupported_format_is_named(tmp_path: Path) -> None:
    f = tmp_path / "weights.onnx"
    f.write_bytes(b"\x08\x07\x12\x04junk")
    with pytest.raises(CheckpointError, match="unsupported checkpoint format '.onnx'"):
        import_checkpoint(f, tmp_path / "zoo")
