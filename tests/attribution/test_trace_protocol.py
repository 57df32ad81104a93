"""The trace benchmark protocol as a library stage (srprint.attribution.trace_protocol) on a tiny zoo."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from srprint.attribution import trace_protocol as tp
from srprint.errors import SrprintError
from srprint.io.checkpoints import save_weights
from srprint.io.images import skimage_photos
from srprint.zoo.archs import create_arch
from srprint.zoo.entry import ZooEntry

TINY_EDSR = {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0}
# untrained nets want a larger step than the default (as in test_trace.py); few steps, 3 calibration crops
TINY = tp.TraceOptions(crop=32, steps=60, lr=0.03, n_calibration=3, coarse_steps=20, keep=1, full_images=1,
                       jpeg=(90,), threads=1, exclude=("excluded",))
KEYS = {"images", "models", "candidates_max", "alpha", "settings", "excluded", "top1_made_by", "argmin_right",
        "open_false_attributions", "auroc", "jpeg", "seconds_per_image_pruned", "seconds_per_image_full",
        "full_agree", "full_n", "rows", "seconds"}


def _entry(root: Path, name: str, seed: int, scale: int = 2) -> None:
    torch.manual_seed(seed)
    folder = root / name
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", create_arch("EDSR", scale, config=TINY_EDSR).state_dict())
    ZooEntry(id=name, source="imported", arch="EDSR", scale=scale, task="sr", arch_config=dict(TINY_EDSR)).save(folder)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trace_protocol") / "pretrained_zoo"
    _entry(root, "EDSR-a-x2", 1)
    _entry(root, "EDSR-b-x2", 2)
    _entry(root, "EDSR-c-x4", 3, scale=4)  # a candidate, not a test model (test scales: 2)
    _entry(root, "EDSR-excluded-x2", 4)  # left out by ``exclude``: neither test model nor candidate
    return root


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [skimage_photos()["coffee"]]  # never a calibration photo


def test_protocol_traces_every_test_model(zoo: Path, photos: list[np.ndarray]) -> None:
    partial: list[int] = []
    res = tp.run_trace_protocol(zoo=zoo, options=TINY, photos=photos, on_image=lambda r: partial.append(r["images"]))
    assert set(res) == KEYS
    assert partial == [1, 2]  # the record after every image
    assert res["images"] == 2 and res["models"] == 2 and res["candidates_max"] == 3
    assert [r["model"] for r in res["rows"]] == ["EDSR-a-x2", "EDSR-b-x2"]
    assert all(r["photo"] == 0 and r["n_candidates"] == 3 for r in res["rows"])
    assert res["argmin_right"] == 2, [(r["model"], r["argmin"]) for r in res["rows"]]
    assert res["full_n"] == 1 and res["jpeg"][90]["n"] == 2 and res["excluded"] == "excluded"
    assert res["settings"]["pruned"]["coarse_steps"] == 20 and res["settings"]["pruned"]["keep"] == 1
    md = tp.trace_markdown(res)
    assert md.startswith("# Tracing images to their model by inversion")
    assert "| measure | result | target |" in md and "all candidates 20 steps, best 1 refined" in md
    assert "| EDSR-a-x2 |" in md and "| EDSR-b-x2 |" in md and "| JPEG q = 90 " in md
    json.dumps(res)


def test_mini_stage_writes_the_table(zoo: Path, photos: list[np.ndarray], tmp_path: Path) -> None:
    ctx: Any = SimpleNamespace(out=tmp_path, device="cpu", zoo_dir=tmp_path / "mini", tables_dir=tmp_path / "tables",
                               results={"zoo": {"zoo": str(tmp_path / "mini"), "pretrained_zoo": str(zoo)}})
    summary = tp.mini_stage(ctx, options=TINY, photos=photos)
    data = json.loads((tmp_path / "tables" / "trace.json").read_text())
    assert data["machine"]["torch"] and set(data) == KEYS | {"machine"} and data["images"] == 2
    md = (tmp_path / "tables" / "trace.md").read_text()
    assert md.startswith("# Tracing images") and "_commit " in md and "| measure | result | target |" in md
    assert summary["table"] == str(tmp_path / "tables" / "trace.json") and summary["images"] == 2
    assert set(summary["targets"]) >= {"top1_at_least_99pct", "no_open_false_attribution"}
    json.dumps(summary)


def test_mini_stage_without_published_models_is_skipped(tmp_path: Path) -> None:
    ctx: Any = SimpleNamespace(out=tmp_path, device="cpu", zoo_dir=tmp_path / "mini", tables_dir=tmp_path / "tables",
                               results={"zoo": {"zoo": str(tmp_path / "mini"), "pretrained_zoo": None}})
    assert tp.mini_stage(ctx) == {"skipped": "no published checkpoints imported"}
    assert not (tmp_path / "tables").exists()


def test_user_errors_are_one_line(zoo: Path, tmp_path: Path) -> None:
    with pytest.raises(SrprintError, match="JPEG qualities"):
        tp.TraceOptions(jpeg=(0,))
    with pytest.raises(SrprintError, match="bad trace settings"):
        tp.TraceOptions(coarse_steps=200)  # not fewer than the refining steps
    with pytest.raises(SrprintError, match="zoo folder not found"):
        tp.run_trace_protocol(zoo=tmp_path / "missing", options=TINY, photos=[])
    with pytest.raises(SrprintError, match="no SR model of scale 3"):
        tp.run_trace_protocol(zoo=zoo, options=tp.TraceOptions(crop=36, test_scales=(3,)), photos=[])
