"""The mini/paper study's zoo stage: prebuilt copy, published SR entries, the zoo-quality table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from srprint.study.run import StudyContext
from srprint.zoo import study
from srprint.zoo.specs import Grid, parse_model_id

TINY_IDS = ("EDSR-skimage-x2-L1-s1", "RCAN-skimage-x4-L1-s1")


def test_the_prebuilt_zoo_is_copied_entry_by_entry_and_never_over_what_is_there(
        tiny_zoo: Path, tmp_path: Path) -> None:
    dst = tmp_path / "zoo"
    (dst / TINY_IDS[0]).mkdir(parents=True)
    (dst / TINY_IDS[0] / "model.json").write_text('{"mine": true}')
    (dst / f".{TINY_IDS[1]}.copying").mkdir()  # a copy a kill cut short
    assert study.copy_prebuilt_zoo(tiny_zoo, dst) == 1
    assert json.loads((dst / TINY_IDS[0] / "model.json").read_text()) == {"mine": True}
    assert (dst / TINY_IDS[1] / "model.safetensors").is_file()
    assert not (dst / f".{TINY_IDS[1]}.copying").exists()
    assert study.copy_prebuilt_zoo(tiny_zoo, dst) == 0


def test_only_super_resolution_entries_of_the_published_zoo_join_the_study_zoo(tmp_path: Path) -> None:
    pre, zoo = tmp_path / "pre", tmp_path / "zoo"
    for name, scale in (("dncnn", 1), ("rlfn", 4), ("odd", "x")):
        (pre / name).mkdir(parents=True)
        (pre / name / "model.json").write_text(json.dumps({"id": name, "labels": {"scale": scale}}))
    zoo.mkdir()
    assert study.link_imported_sr(pre, zoo) == 1
    assert sorted(p.name for p in zoo.iterdir()) == ["rlfn"]
    assert study.link_imported_sr(pre, zoo) == 0


def test_the_zoo_stage_copies_the_prebuilt_zoo_and_writes_the_quality_table(
        tiny_zoo: Path, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_shared = tmp_path / "shared_data"
    shutil.copytree(tiny_zoo, fake_shared / "zoos" / "mini")
    (fake_shared / "images").symlink_to(shared_data / "images")
    monkeypatch.setattr(study, "shared_data_dir", lambda: fake_shared)
    specs = [parse_model_id(i) for i in TINY_IDS]
    monkeypatch.setattr("srprint.zoo.specs.resolve_grid", lambda name: Grid(name, specs, iters=12))
    monkeypatch.setattr(study, "quality_specs", lambda: specs[:1])
    ctx = StudyContext(out=tmp_path / "study", device="cpu", zoo_dir=tmp_path / "home" / "zoos" / "mini")
    summary = study.mini_stage(ctx)
    assert summary["copied_prebuilt"] == 2 and summary["pretrained_zoo"] is None  # no published checkpoints here
    table = json.loads((ctx.tables_dir / "zoo_quality.json").read_text())
    assert [r["id"] for r in table["rows"]] == [TINY_IDS[0]]
    assert set(table["rows"][0]["Set5"]) == set(study.QUALITY_METRICS)
    assert table["machine"]["torch_threads"] >= 1
    assert "| EDSR-skimage-x2-L1-s1 |" in (ctx.tables_dir / "zoo_quality.md").read_text()
    assert study.mini_stage(ctx)["copied_prebuilt"] == 0  # a rerun copies and trains nothing
