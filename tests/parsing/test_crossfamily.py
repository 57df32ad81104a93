"""Parsers for imported models trained on the zoo plus the other imported families."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from srprint.parsing.crossfamily import (
    cap_per_model,
    family_folds,
    import_family,
    imported_crossfit,
    with_loss_family,
)
from srprint.parsing.heldout import HoldoutError
from srprint.render.manifest import RenderedDataset, write_manifest

from .conftest import IMPORTED, TINY_CLASSIFIER, _FakeEngine

OTHER = "othergan_keras_x4-pretrained"


def test_import_family_groups_variants_of_one_network() -> None:
    assert import_family("imdn-rtc_official_x2-pretrained") == "imdn"
    assert import_family("imdn_official_x4-pretrained") == "imdn"
    assert import_family("RLFN-s_official_x2") == "rlfn"
    assert import_family("span") == "span"


def test_family_folds_keep_families_whole_and_cover_every_model() -> None:
    ids = ["a_x2", "a_x4", "b_x2", "c-1_x4", "c-2_x4", "d_x4", "e_x3"]
    folds = family_folds(ids, 3)
    assert len(folds) == 3
    assert sorted(m for f in folds for m in f) == sorted(ids)
    # a family never straddles two folds: c-1 and c-2 are one family
    where = {import_family(m): k for k, f in enumerate(folds) for m in f}
    assert all(where[import_family(m)] == k for k, f in enumerate(folds) for m in f)
    assert family_folds(ids, 3) == folds  # deterministic
    with pytest.raises(HoldoutError, match="5 imported families into 6 folds"):
        family_folds(ids, 6)


def test_loss_family_column_reads_record_labels() -> None:
    frame = pd.DataFrame(
        {
            "model_id": ["z", "i1", "i2", "i3"],
            "loss": ["VGG+Adv", "", "", ""],
            "labels_json": ["{}", '{"loss": "L1+L2"}', '{"loss": "GAN+VGG"}', '{"loss": "unknown"}'],
        }
    )
    assert list(with_loss_family(frame)["loss_family"]) == ["adversarial", "pixel", "adversarial", ""]


def test_cap_per_model_weighs_models_alike() -> None:
    df = pd.DataFrame({"model_id": ["a"] * 10 + ["b"] * 3, "v": range(13)})
    capped = cap_per_model(df, 4, seed=0)
    assert capped["model_id"].value_counts().to_dict() == {"a": 4, "b": 3}
    assert cap_per_model(df, 4, seed=0).equals(capped)
    assert len(cap_per_model(df, None, seed=0)) == 13


@pytest.fixture
def two_family_render(parsing_render: Path, tmp_path: Path) -> Path:
    """The tiny render plus a second imported family (an x4 GAN model reusing the imported images)."""
    frame = RenderedDataset.open(parsing_render).frame
    extra = frame[frame["model_id"] == IMPORTED[0]].copy()
    extra["model_id"] = OTHER
    extra["scale"] = 4
    extra["labels_json"] = json.dumps({"id": OTHER, "loss": "GAN+VGG", "source": "imported"})
    root = tmp_path / "render"
    root.mkdir()
    for child in Path(parsing_render).iterdir():
        if child.is_dir():
            (root / child.name).symlink_to(child)
    rows = pd.concat([frame, extra]).to_dict("records")
    write_manifest(root, rows)
    return root


def test_crossfit_never_trains_on_the_test_family(
    two_family_render: Path, tmp_path: Path, fake_engine: _FakeEngine
) -> None:
    table = imported_crossfit(two_family_render, tmp_path / "cf", TINY_CLASSIFIER, device="cpu", folds=2, per_model=5)
    assert table["protocol"] == "family-out"
    assert sorted(map(tuple, table["folds"])) == [("othergan",), ("thirdparty",)]
    # 2 folds x (scale, loss_family); each run's training models exclude that fold's test model
    assert len(fake_engine.train_models) == 4
    by_fold = {table["models"][m]["fold"]: m for m in (IMPORTED[0], OTHER)}
    for k, trained in enumerate(fake_engine.train_models):
        held = by_fold[k // 2]
        assert held not in trained
        assert ({IMPORTED[0], OTHER} - {held}) <= trained  # the other family is trained on
    # per_model caps every model's training images (5) - the fake engine records the sizes
    for (_, n_train, _), ids in zip(fake_engine.trained, fake_engine.train_models, strict=True):
        assert n_train == 5 * len(ids)
    # the fake engine parses every non-RCAN image right: both imported models are scored
    info = table["models"][OTHER]
    assert info["predictions"]["scale"] == {"2": 0.0, "4": 1.0}
    assert info["predictions"]["loss_family"]["adversarial"] == 1.0
    assert table["summary"]["scale_accuracy"] == 1.0 and table["summary"]["loss_family_accuracy"] == 1.0
    assert "| othergan_keras_x4-pretrained |" in (tmp_path / "cf" / "crossfit.md").read_text()


def test_crossfit_zoo_only_trains_on_no_imported_model(
    two_family_render: Path, tmp_path: Path, fake_engine: _FakeEngine
) -> None:
    table = imported_crossfit(two_family_render, tmp_path / "zoo", TINY_CLASSIFIER, device="cpu", folds=0, per_model=5)
    assert table["protocol"] == "zoo-only" and len(fake_engine.train_models) == 2
    assert all(not ({IMPORTED[0], OTHER} & t) for t in fake_engine.train_models)
    assert set(table["models"]) == {IMPORTED[0], OTHER}
    # per_model caps validation at a quarter (1 of each model's 4 val images); None keeps every image
    assert all(n_val == len(ids) for (_, _, n_val), ids in zip(fake_engine.trained, fake_engine.train_models,
                                                                strict=True))
    imported_crossfit(two_family_render, tmp_path / "all", TINY_CLASSIFIER, device="cpu", folds=0, per_model=None)
    assert fake_engine.trained[-1][2] == 4 * len(fake_engine.train_models[-1])
    with pytest.raises(HoldoutError, match="into 3 folds"):
        imported_crossfit(two_family_render, tmp_path / "x", TINY_CLASSIFIER, device="cpu", folds=3)


def test_cli_parse_imported_family_folds(two_family_render: Path, tmp_path: Path, fake_engine: _FakeEngine) -> None:
    from typer.testing import CliRunner

    from srprint.cli import app
    from srprint.errors import SrprintError

    base = ["parse", "imported", "--data", str(two_family_render), "--backbone", "test_convnext", "--crop", "32"]
    r = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "cf"), "--family-folds", "2", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["protocol"] == "family-out" and res["summary"]["scale_accuracy"] == 1.0
    r = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "x"), "--family-folds", "0", "--target", "arch"])
    assert isinstance(r.exception, SrprintError) and "not arch" in str(r.exception)


def test_imported_summary_per_image_and_majority_vote_per_model() -> None:
    from srprint.parsing.imported import imported_summary

    models = {
        # 10 images, 70 % right: majority right
        "a": {"n_images": 10, "scale": 4, "loss": "L1", "predictions": {"scale": {"2": 0.3, "4": 0.7}}},
        # 30 images, 40 % right: majority wrong
        "b": {"n_images": 30, "scale": 2, "loss": "GAN+VGG",
              "predictions": {"scale": {"2": 0.4, "4": 0.6}, "loss_family": {"adversarial": 0.9, "pixel": 0.1}}},
        # x3 is not a trained scale, unknown loss: not scored
        "c": {"n_images": 5, "scale": 3, "loss": "unknown", "predictions": {"scale": {"2": 1.0, "4": 0.0}}},
        # a 3-class loss parser is scored through the loss families of its classes (0.3 + 0.3 adversarial)
        "d": {"n_images": 10, "scale": 2, "loss": "L1",
              "predictions": {"loss": {"L1": 0.4, "VGG+Adv": 0.3, "ResNet+Adv": 0.3}}},
    }
    s = imported_summary({"models": models})
    assert s["scale_images"] == 40 and s["scale_models"] == 2
    assert s["scale_accuracy"] == pytest.approx((7 + 12) / 40)
    assert s["scale_model_accuracy"] == 0.5
    assert s["loss_family_images"] == 40 and s["loss_family_models"] == 2
    assert s["loss_family_accuracy"] == pytest.approx((27 + 4) / 40)
    assert s["loss_family_model_accuracy"] == 0.5  # b right (0.9); d wrong (pixel 0.4 < adversarial 0.6)
