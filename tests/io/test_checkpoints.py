import pickle
from pathlib import Path

import pytest
import torch

from srprint.errors import CheckpointError, UnsafeCheckpointError
from srprint.io.checkpoints import load_state_dict, load_weights, save_weights


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.target, "w"))


def test_safetensors_round_trip(tmp_path: Path) -> None:
    state = {"a": torch.arange(6.0).view(2, 3), "b": torch.ones(2, dtype=torch.int64)}
    save_weights(tmp_path / "w.safetensors", state)
    back = load_state_dict(tmp_path / "w.safetensors")
    assert all(torch.equal(state[k], back[k]) for k in state)


def test_plain_state_dict_pth_loads_with_weights_only(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(3)}, tmp_path / "m.pth")
    assert torch.equal(load_state_dict(tmp_path / "m.pth")["w"], torch.ones(3))


def test_malicious_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    with open(tmp_path / "evil.pth", "wb") as fh:
        pickle.dump({"w": _Evil(str(target))}, fh)
    with pytest.raises(UnsafeCheckpointError, match="refused"):
        load_state_dict(tmp_path / "evil.pth")
    assert not target.exists()


def test_truncated_and_missing_files_raise_checkpoint_errors(tmp_path: Path) -> None:
    save_weights(tmp_path / "w.safetensors", {"a": torch.ones(100)})
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[:40])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_weights(tmp_path / "t.safetensors")
    torch.save({"w": torch.ones(100)}, tmp_path / "m.pth")
    raw = (tmp_path / "m.pth").read_bytes()
    (tmp_path / "t.pth").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError):
        load_state_dict(tmp_path / "t.pth")
    with pytest.raises(CheckpointError, match="not found"):
        load_state_dict(tmp_path / "none.pth")
    with pytest.raises(CheckpointError, match="directory"):
        load_state_dict(tmp_path)
