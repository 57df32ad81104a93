"""Import machinery: normalisation, detection, scale checks, zoo writes, manifests, round trips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from srprint.errors import CheckpointError, SpecError
from srprint.io.checkpoints import sha256_file
from srprint.zoo.entry import Zoo, ZooEntry
from srprint.zoo.imports import import_checkpoint, import_file, import_manifest
from srprint.zoo.imports.normalize import normalize_state
from srprint.zoo.model import load_model


def test_normalize_unwraps_nesting_and_strips_prefixes() -> None:
    t = torch.ones(2, dtype=torch.float16)
    obj = {"epoch": 5, "optimizer": {"lr": 1}, "params_ema": {"module._orig_mod.conv.weight": t,
                                                               "module._orig_mod.conv.bias": t}}
    unwrapped, state, notes = normalize_state(obj)
    assert set(unwrapped) == {"module._orig_mod.conv.weight", "module._orig_mod.conv.bias"}
    assert set(state) == {"conv.weight", "conv.bias"}
    assert all(v.dtype == torch.float32 for v in state.values())
    assert notes[0] == "unwrapped 'params_ema'"
    assert "stripped 'module.'" in notes and "stripped '_orig_mod.'" in notes


def test_normalize_keeps_prefix_not_shared_by_all_keys() -> None:
    _, state, _ = normalize_state({"model.a": torch.zeros(1), "head.b": torch.zeros(1)})
    assert set(state) == {"model.a", "head.b"}


def test_import_writes_a_complete_record_and_round_trips_bit_identically(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    ckpt = tmp_path / "rtc.pth"
    make_rtc(ckpt, scale=2)
    zoo = tmp_path / "zoo"
    entry = import_checkpoint(ckpt, zoo, name="tiny-rtc", loss="L1")
    assert entry.id == "tiny-rtc-pretrained" and entry.source == "imported"
    assert (entry.arch, entry.scale, entry.task, entry.loader) == ("IMDN_RTC", 2, "sr", "registry")
    assert entry.arch_config == {"nf": 12, "num_modules": 2}
    rec = json.loads((zoo / entry.id / "model.json").read_text())
    assert rec["imported"]["sha256"] == sha256_file(ckpt)
    assert rec["imported"]["detected_by"] == "IMDN_RTC"
    assert rec["imported"]["normalisation"][:2] == ["unwrapped 'state_dict'", "stripped 'module.'"]
    assert rec["labels"] == {"arch": "IMDN_RTC", "scale": 2, "loss": "L1", "task": "sr", "source": "imported",
                             "dataset": "", "seed": -1, "loss_family": "pixel"}
    assert rec["input_range"] == [0.0, 1.0]
    # round trip: the stored safetensors rebuild the same network, bit for bit
    from srprint.zoo.archs import create_arch

    ref_net = create_arch("IMDN_RTC", 2, config={"nf": 12, "num_modules": 2})
    ref_net.load_state_dict({k[len("module."):]: v for k, v in torch.load(ckpt)["state_dict"].items()})
    x = torch.rand(1, 3, 20, 18, generator=torch.Generator().manual_seed(1))
    model = load_model(ZooEntry.load(zoo / entry.id))
    with torch.no_grad():
        assert torch.equal(model(x), ref_net.eval()(x))
        assert torch.equal(model(x), load_model(zoo / entry.id)(x))


def test_wrong_scale_is_detected_from_tensor_shapes(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    ckpt = tmp_path / "rtc.pth"
    make_rtc(ckpt, scale=3)
    with pytest.raises(CheckpointError, match=r"--scale 2 .*x3 .*27 = 3\*3\^2"):
        import_checkpoint(ckpt, tmp_path / "zoo", scale=2)
    assert not (tmp_path / "zoo").exists() or Zoo(tmp_path / "zoo").ids() == []


def test_wrong_arch_and_task_are_refused(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    ckpt = tmp_path / "rtc.pth"
    make_rtc(ckpt)
    with pytest.raises(CheckpointError, match="--arch RFDN does not match .*IMDN_RTC"):
        import_checkpoint(ckpt, tmp_path / "zoo", arch="RFDN")
    with pytest.raises(CheckpointError, match="--task denoise"):
        import_checkpoint(ckpt, tmp_path / "zoo", task="denoise")
    with pytest.raises(SpecError, match="invalid model name"):
        import_checkpoint(ckpt, tmp_path / "zoo", name="../escape")


def test_duplicate_refused_without_replace_and_zoo_unchanged(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    make_rtc(a, seed=0)
    make_rtc(b, seed=1)
    zoo = tmp_path / "zoo"
    import_checkpoint(a, zoo, name="m")
    before = (zoo / "m-pretrained" / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="already exists .*--replace"):
        import_checkpoint(b, zoo, name="m")
    assert (zoo / "m-pretrained" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in zoo.iterdir()) == ["m-pretrained"]
    entry = import_checkpoint(b, zoo, name="m", replace=True)
    assert entry.imported["sha256"] == sha256_file(b)
    assert (zoo / "m-pretrained" / "model.safetensors").read_bytes() != before
    assert sorted(p.name for p in zoo.iterdir()) == ["m-pretrained"]


def test_manifest_reports_each_row_and_rerun_skips(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    make_rtc(tmp_path / "good.pth")
    (tmp_path / "bad.pth").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "folder").mkdir()
    man = tmp_path / "models.csv"
    with open(man, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "file", "arch", "task", "scale", "loss"])
        w.writeheader()
        w.writerow({"id": "good", "file": "good.pth", "arch": "IMDN_RTC", "task": "SR", "scale": "2", "loss": "L1"})
        w.writerow({"id": "bad", "file": "bad.pth", "arch": "X", "task": "SR", "scale": "2", "loss": ""})
        w.writerow({"id": "dir", "file": "folder", "arch": "X", "task": "SR", "scale": "2", "loss": ""})
    zoo = tmp_path / "zoo"
    res = import_manifest(man, zoo)
    assert [r["ok"] for r in res] == [True, False, False]
    assert res[0]["entries"] == ["good-pretrained"] and not res[0]["skipped"]
    assert "bad.pth" in res[1]["error"] and "directory" in res[2]["error"]
    entry = Zoo(zoo).get("good-pretrained")
    assert entry.imported["manifest_row"]["arch"] == "IMDN_RTC" and entry.labels["loss"] == "L1"
    again = import_manifest(man, zoo)
    assert again[0]["ok"] and again[0]["skipped"]


def test_multiscale_file_gives_one_entry_per_scale_or_the_chosen_one(pretrained_dir: Path, tmp_path: Path) -> None:
    f = pretrained_dir / "carn-m_official" / "carn_m.pth"
    entries = import_file(f, tmp_path / "zoo", name="carnm")
    assert [(e.id, e.scale) for e in entries] == [("carnm-x2-pretrained", 2), ("carnm-x3-pretrained", 3),
                                                   ("carnm-x4-pretrained", 4)]
    one = import_checkpoint(f, tmp_path / "zoo2", name="carnm", scale=3)
    assert (one.id, one.scale) == ("carnm-pretrained", 3)
    with pytest.raises(CheckpointError, match="--scale 8 .*x2/x3/x4"):
        import_checkpoint(f, tmp_path / "zoo3", scale=8)


def test_cli_import_json_and_duplicate_error(tmp_path: Path, make_rtc) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from srprint.cli import app

    ckpt = tmp_path / "rtc.pth"
    make_rtc(ckpt, scale=2)
    args = ["zoo", "import", str(ckpt), "--zoo", str(tmp_path / "zoo"), "--name", "cli", "--loss", "L1", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [e["id"] for e in out["entries"]] == ["cli-pretrained"] and out["entries"][0]["arch"] == "IMDN_RTC"
    again = CliRunner().invoke(app, args)
    assert isinstance(again.exception, CheckpointError) and "--replace" in str(again.exception)
    both = CliRunner().invoke(app, ["zoo", "import", str(ckpt), "--manifest", str(ckpt)])
    assert isinstance(both.exception, SpecError)
