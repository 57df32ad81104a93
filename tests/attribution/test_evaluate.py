from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srprint.attribution.evaluate import attribution_tables, evaluate_run, load_eval
from srprint.attribution.predict import predict_images
from srprint.classify.openset import OpenSetCalibration
from srprint.classify.perturb import jpeg, perturbations, resize
from srprint.errors import ImageError
from srprint.render.manifest import RenderedDataset

from .conftest import KNOWN, UNKNOWN


def _frame() -> tuple[pd.DataFrame, list[str], np.ndarray]:
    models = ["A-d-x2-L1-s1", "A-d-x2-L1-s2", "B-d-x4-L1-s1"]
    rows = [
        ("A", 2, 1, models[0]),
        ("A", 2, 1, models[0]),
        ("A", 2, 2, models[1]),
        ("A", 2, 2, models[1]),
        ("B", 4, 1, models[2]),
        ("B", 4, 1, models[2]),
    ]
    frame = pd.DataFrame(
        [
            {"model_id": m, "arch": a, "scale": s, "seed": sd, "loss": "L1", "dataset": "d", "size": "tiny"}
            for a, s, sd, m in rows
        ]
    )
    # columns: models[0], models[1], models[2]
    scores = np.array(
        [
            [0.6, 0.3, 0.1],  # right
            [0.2, 0.3, 0.5],  # wrong overall (B); restricted to seed group -> models[1]: wrong
            [0.1, 0.8, 0.1],  # right
            [0.5, 0.1, 0.4],  # wrong (models[0])
            [0.1, 0.1, 0.8],  # right
            [0.1, 0.2, 0.7],  # right
        ]
    )
    return frame, models, scores


def test_tables_values_by_hand() -> None:
    frame, classes, scores = _frame()
    t = attribution_tables(frame, classes, scores)
    assert t["overall_acc"] == pytest.approx(4 / 6)
    assert [r["acc"] for r in t["per_class"]] == pytest.approx([0.5, 0.5, 1.0])
    arch = {r["value"]: r for r in t["grouped"]["arch"]}
    assert arch["A"]["n"] == 4 and arch["A"]["acc"] == pytest.approx(2 / 4)
    assert arch["B"]["acc"] == pytest.approx(1.0)
    scale = {r["value"]: r["acc"] for r in t["grouped"]["scale"]}
    assert scale == pytest.approx({2: 0.5, 4: 1.0})
    sg = t["seed_groups"]
    assert sg["n_groups"] == 1 and sg["groups"][0]["models"] == classes[:2]
    # restricted to columns 0,1: row1 -> col1 (wrong, true col0), row3 -> col0 (wrong) => 2/4
    assert sg["groups"][0]["acc"] == pytest.approx(0.5) and sg["n"] == 4
    assert np.array(t["confusion"]["matrix"]).tolist() == [[1, 0, 1], [1, 1, 0], [0, 0, 2]]


def test_eval_run_tables_figures_and_openset(tiny_run: Path) -> None:
    res = evaluate_run(tiny_run, split="test", perturb=False)
    assert res["n"] == 20 and res["n_classes"] == 4
    assert [r["class"] for r in res["per_class"]] == sorted(KNOWN)
    assert {"arch", "scale", "seed", "loss", "dataset"} <= set(res["grouped"])
    assert len(res["grouped"]["scale"]) == 2 and sum(r["n"] for r in res["grouped"]["scale"]) == 20
    sg = res["seed_groups"]
    assert sg["n_groups"] == 1 and sg["groups"][0]["models"] == KNOWN[:2]
    assert np.array(res["confusion"]["matrix"]).sum() == 20
    assert Path(res["figures"]["confusion"]).is_file() and Path(res["figures"]["tsne"]).is_file()
    o = res["openset"]
    assert o["unknown_models"] == UNKNOWN and o["n_unknown"] == 5
    # the default score (feature distance to class means) ranks the unseen model's images as less "known"
    assert o["distance"]["auroc"] > 0.8
    assert set(o["distance"]) == {"auroc", "roc", "threshold", "known_flagged_unknown", "unknown_flagged_unknown"}
    assert o["distance"]["roc"]["fpr"][0] == 0.0 and o["distance"]["roc"]["tpr"][-1] == 1.0
    assert json.loads((tiny_run / "eval_test.json").read_text())["overall_acc"] == res["overall_acc"]


def test_predict_folder_skips_corrupt_files(tiny_run: Path, tiny_render: Path, tmp_path: Path) -> None:
    ds = RenderedDataset.open(tiny_render)
    test = ds.split("test")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for rel in test[test["model_id"] == KNOWN[2]]["path"][:4]:
        shutil.copy(tiny_render / rel, folder / Path(rel).name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.warns(UserWarning, match="broken.png"):
        res = predict_images(tiny_run, folder, top_k=2)
    assert len(res["images"]) == 4 and len(res["skipped"]) == 1
    assert all(len(im["top"]) == 2 for im in res["images"])
    assert res["aggregate"]["n"] == 4
    assert res["aggregate"]["top"][0]["class"] in KNOWN
    assert res["aggregate"]["verdict"] in [*KNOWN, "unknown"]
    single = predict_images(tiny_run, sorted(folder.glob("*-4.png"))[0], top_k=1)
    assert len(single["images"]) == 1
    with pytest.raises(ImageError):
        predict_images(tiny_run, folder / "broken.png")


def test_each_tile_count_has_its_own_calibration_and_eval(tiny_run: Path) -> None:
    # a threshold calibrated on centre-crop scores must not judge tile-averaged scores
    one = evaluate_run(tiny_run, split="test", figures=False, tiles=1)
    two = evaluate_run(tiny_run, split="test", figures=False, tiles=2)
    cal1, cal2 = OpenSetCalibration.load(tiny_run, 1), OpenSetCalibration.load(tiny_run, 2)
    assert cal1 is not None and cal2 is not None and (cal1.tiles, cal2.tiles) == (1, 2)
    assert cal1.thresholds != cal2.thresholds
    assert one["tiles"] == 1 and two["tiles"] == 2
    assert two["openset"]["distance"]["threshold"] == cal2.thresholds["distance"]
    # eval_test.json now holds the 2-tile evaluation: asking for another tile count finds none
    assert load_eval(tiny_run, tiles=1) is None and load_eval(tiny_run, tiles=2)["n"] == 20


def test_perturbations_change_images() -> None:
    img = np.random.default_rng(0).random((40, 30, 3)).astype(np.float32)
    assert set(perturbations()) == {"jpeg95", "jpeg90", "jpeg75", "resize0.75", "resize0.5"}
    j = jpeg(img, 75)
    assert j.shape == img.shape and 0.01 < np.abs(j - img).mean() < 0.3
    assert resize(img, 0.5).shape == (20, 15, 3)
