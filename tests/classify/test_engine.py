from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from srprint.classify.data import crop_array
from srprint.classify.predict import load_classifier, predict_frame
from srprint.classify.run_folder import ClassifierConfig, RunError
from srprint.classify.tiles import tile_crops, tile_positions
from srprint.classify.train import train_run
from srprint.errors import DatasetError, SrprintError
from srprint.io.images import read_image, to_uint8, write_png
from srprint.render.manifest import RenderedDataset

from ..tiny_render import HOLDOUT, KNOWN, TINY_CFG


def test_classifier_beats_chance(tiny_run: Path, tiny_render: Path) -> None:
    ds = RenderedDataset.open(tiny_render, where=f"model_id={'|'.join(KNOWN)}")
    pred = predict_frame(tiny_run, ds.root, ds.split("test"))
    assert pred.classes == sorted(KNOWN)
    assert pred.probs.shape == (20, 4) and np.allclose(pred.probs.sum(1), 1, atol=1e-5)
    assert pred.features.ndim == 2 and pred.features.shape[0] == 20
    assert pred.accuracy >= 0.5  # chance is 0.25
    scale_of = {m: m.split("-x")[1][0] for m in KNOWN}
    scale_acc = np.mean([scale_of[p] == scale_of[t] for p, t in zip(pred.pred, pred.labels, strict=True)])
    assert scale_acc >= 0.8  # x2 vs x4: chance 0.5
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["complete"] and metrics["epochs_run"] == 5


def test_config_yaml_records_the_run(tiny_run: Path, tiny_render: Path) -> None:
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    assert cfg["label"] == "model_id" and cfg["holdout_models"] == HOLDOUT
    assert Path(cfg["data"]) == tiny_render.resolve()
    assert cfg["classifier"]["backbone"] == "test_convnext" and cfg["classifier"]["optimizer"] == "adamax"


def test_killed_training_resumes_to_the_same_weights(
    tiny_run: Path, tiny_render: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(2)
    out = tmp_path / "killed"
    cfg = ClassifierConfig(**TINY_CFG)
    train_run(tiny_render, out, cfg, holdout_models=HOLDOUT, stop_after=2)
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["epoch"] == 2 and len(json.loads((out / "history.json").read_text())) == 2
    with pytest.raises(RunError, match="not finished"):
        load_classifier(out)
    train_run(tiny_render, out, cfg, holdout_models=HOLDOUT)  # resume
    a = load_classifier(out).module.state_dict()
    b = load_classifier(tiny_run).module.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4, 5]
    assert hist == json.loads((tiny_run / "history.json").read_text())


def test_where_matching_nothing_is_a_clear_error(tiny_render: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="matches no image"):
        train_run(tiny_render, tmp_path / "r", ClassifierConfig(**TINY_CFG), where="scale=3")


def test_one_class_dataset_is_a_clear_error(tiny_render: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="single model_id class"):
        train_run(tiny_render, tmp_path / "r", ClassifierConfig(**TINY_CFG), where=f"model_id={KNOWN[0]}")


def test_half_written_or_foreign_run_is_a_clear_error(tiny_run: Path, tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.yaml").write_text((tiny_run / "config.yaml").read_text())
    with pytest.raises(RunError, match="not finished"):
        load_classifier(half)
    (half / "metrics.json").write_text('{"complete": true}')
    (half / "classes.json").write_text(json.dumps(KNOWN))
    with pytest.raises(RunError, match="half-written"):
        load_classifier(half)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.yaml").write_text("format: srprint-classifier-run/0\n")
    with pytest.raises(RunError, match="unsupported run format"):
        load_classifier(foreign)
    with pytest.raises(RunError, match="no config.yaml"):
        load_classifier(tmp_path)


def test_existing_run_with_other_config_is_refused(tiny_run: Path, tiny_render: Path) -> None:
    other = ClassifierConfig(**{**TINY_CFG, "lr": 1e-4})
    with pytest.raises(RunError, match="different run"):
        train_run(tiny_render, tiny_run, other, holdout_models=HOLDOUT)


def test_small_images_are_reflect_padded() -> None:
    img = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    out = crop_array(img, 32, None)
    assert out.shape == (32, 32, 3)
    assert set(np.unique(out)) <= set(np.unique(img))  # padding reuses pixels, adds no constant
    rnd = crop_array(np.zeros((40, 50, 3)), 32, np.random.default_rng(1))
    assert rnd.shape == (32, 32, 3)


def test_init_from_another_run_keeps_the_body(tiny_run: Path, tiny_render: Path, tmp_path: Path) -> None:
    # a scale classifier initialised from the model classifier: new 2-class head, same body;
    # one head-only epoch must leave every body weight untouched
    cfg = ClassifierConfig(**{**TINY_CFG, "head_epochs": 1, "full_epochs": 0, "init": str(tiny_run)})
    run = train_run(tiny_render, tmp_path / "scale", cfg, label="scale", holdout_models=HOLDOUT)
    new, old = load_classifier(run), load_classifier(tiny_run)
    assert new.classes == ["2", "4"]
    head = {k for k in new.module.state_dict() if k.startswith("body.head.fc")}
    a, b = new.module.state_dict(), old.module.state_dict()
    assert head and all(torch.equal(a[k], b[k]) for k in a if k not in head)
    assert a["body.head.fc.weight"].shape[0] == 2


def test_tile_positions_spread_over_the_image_on_the_grid() -> None:
    assert tile_positions(192, 64, 3, align=8) == [0, 64, 128]
    assert tile_positions(100, 64, 3, align=8) == [0, 16, 32]  # overlapping, both edges reached (on the grid)
    assert tile_positions(100, 64, 1, align=8) == [16]  # centre, floored to the grid
    assert tile_positions(64, 64, 3, align=8) == [0]  # no room: one crop, not three copies
    with pytest.raises(SrprintError, match="at least 1"):
        tile_positions(100, 64, 0)


def test_one_tile_is_the_centre_crop() -> None:
    rng = np.random.default_rng(3)
    for shape in [(48, 48, 3), (100, 70, 3), (20, 50, 3)]:
        img = rng.random(shape).astype(np.float32)
        (only,) = tile_crops(img, 32, 1, align=8)
        assert np.array_equal(only, crop_array(img, 32, None, align=8))
    assert [c.shape for c in tile_crops(np.zeros((100, 70, 3)), 32, 3, align=8)] == [(32, 32, 3)] * 9


def test_tiled_prediction_averages_the_tiles_log_probabilities(
    tiny_run: Path, tiny_render: Path, tmp_path: Path
) -> None:
    ds = RenderedDataset.open(tiny_render, where=f"model_id={'|'.join(KNOWN)}")
    row = ds.split("test").iloc[:1].reset_index(drop=True)
    image = to_uint8(read_image(ds.root / row["path"][0]))  # 48 px, crops of 32: tiles at 0 and 16
    names = []
    for i, tile in enumerate(tile_crops(image, 32, 2, align=8)):
        names.append(f"tile{i}.png")
        write_png(tmp_path / names[-1], tile)
    single = predict_frame(tiny_run, tmp_path, pd.DataFrame({"path": names}), tiles=1)
    tiled = predict_frame(tiny_run, ds.root, row, tiles=2)
    mean_log_p = np.log(single.probs).mean(0)
    expected = np.exp(mean_log_p) / np.exp(mean_log_p).sum()
    assert len(names) == 4
    assert np.allclose(tiled.probs[0], expected, atol=1e-5)
    assert np.allclose(tiled.features[0], single.features.mean(0), atol=1e-4)
    centre = predict_frame(tiny_run, ds.root, row, tiles=1)
    assert not np.allclose(centre.probs[0], tiled.probs[0], atol=1e-4)
