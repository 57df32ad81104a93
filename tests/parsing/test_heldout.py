"""Held-out parsers: split rules and errors, the table / imported-model logic, and one real parser."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from srprint.parsing import heldout, imported
from srprint.parsing.heldout import HoldoutError, default_holdouts, heldout_split, parse_holdout
from srprint.parsing.imported import loss_family
from srprint.render.manifest import RenderedDataset

from .conftest import IMPORTED, TINY_CLASSIFIER, _FakeEngine


def test_holdout_split_trains_without_and_tests_with_the_value(parsing_render: Path) -> None:
    frame = RenderedDataset.open(parsing_render).frame
    s = heldout_split(frame, "scale", "arch", value="RCAN")
    assert set(s.train["arch"]) == {"EDSR", "RDN"} and set(s.test["arch"]) == {"RCAN"}
    assert set(s.train["split"]) == {"train"} and set(s.val["split"]) == {"val"} and set(s.test["split"]) == {"test"}
    assert "HR" not in set(s.train["model_id"]) and IMPORTED[0] not in set(s.train["model_id"])
    assert s.classes == ["2", "4"]
    assert len(heldout_split(frame, "scale", "arch", value="RCAN", test_split="all").test) == 2 * 24


def test_dataset_parser_excludes_seed_2_and_3() -> None:
    frame = pd.DataFrame(
        {
            "model_id": ["a", "b", "c"],
            "source": "trained",
            "seed": [1, 2, 3],
            "dataset": ["x", "y", "y"],
            "arch": "E",
            "split": "train",
        }
    )
    rows = heldout.parser_population(frame, "dataset")
    assert list(rows["model_id"]) == ["a"]
    assert len(heldout.parser_population(frame, "scale")) == 3


def test_holdout_errors_are_clear(parsing_render: Path) -> None:
    frame = RenderedDataset.open(parsing_render).frame
    with pytest.raises(HoldoutError, match="no model .*has arch 'SwinIR'; values: EDSR, RCAN, RDN"):
        heldout_split(frame, "scale", "arch", value="SwinIR")
    with pytest.raises(HoldoutError, match="meaningless"):
        heldout_split(frame, "scale", "scale", value="2")
    with pytest.raises(HoldoutError, match="nothing left to train"):
        heldout_split(frame, "scale", "dataset", value="skimage")
    with pytest.raises(HoldoutError, match="single class|at least two classes"):
        heldout_split(frame, "dataset", "arch", value="RCAN")
    with pytest.raises(HoldoutError, match="KEY=VALUE"):
        parse_holdout("RCAN")
    with pytest.raises(HoldoutError, match="unknown key"):
        parse_holdout("colour=red")
    with pytest.raises(HoldoutError, match="unknown parser target"):
        heldout_split(frame, "colour", "arch", value="RCAN")


def test_default_holdouts_follow_the_study(parsing_render: Path) -> None:
    frame = RenderedDataset.open(parsing_render).frame
    assert default_holdouts(frame) == ["loss=L1", "loss=VGG+Adv", "arch=RCAN", "arch=EDSR"]
    mini_like = pd.DataFrame(
        {
            "model_id": list("abcdef"),
            "source": "trained",
            "loss": ["L1", "VGG+Adv", "L1", "L1", "ResNet+Adv", "L1"],
            "arch": ["EDSR", "RCAN", "SwinIR", "RDN", "NLSN", "EDSR"],
            "dataset": ["bsds"] * 5 + ["photos"],
            "seed": [1, 1, 1, 2, 3, 1],
        }
    )
    assert default_holdouts(mini_like) == [
        "loss=L1",
        "loss=VGG+Adv",
        "arch=RCAN",
        "arch=SwinIR",
        "dataset=photos",
        "seed=3",
    ]


def test_loss_family_of_third_party_labels() -> None:
    assert loss_family("L1") == "pixel" and loss_family("VGG+Adv") == "adversarial"
    assert loss_family("GAN+VGG+SmoothL1") == "adversarial" and loss_family("L2") == "pixel"
    assert loss_family("unknown") is None and loss_family("") is None




def test_parse_table_grid_skips_meaningless_cells(
    parsing_render: Path, tmp_path: Path, fake_engine: _FakeEngine
) -> None:
    table = heldout.parse_table(parsing_render, tmp_path / "t", TINY_CLASSIFIER, device="cpu")
    cells = {(c["target"], c["holdout"]): c for c in table["cells"]}
    assert ("loss", "loss=L1") not in cells and ("arch", "arch=RCAN") not in cells  # meaningless
    assert cells[("scale", "arch=EDSR")]["accuracy"] == 1.0 and cells[("scale", "arch=EDSR")]["chance"] == 0.5
    assert cells[("scale", "arch=RCAN")]["accuracy"] == 0.0  # the fake engine gets RCAN wrong
    assert cells[("dataset", "arch=RCAN")]["status"] == "skipped"  # a single training set
    assert (
        cells[("scale", "loss=L1")]["reference"] == "~chance" and cells[("loss", "arch=EDSR")]["reference"] == "94-99"
    )
    md = (tmp_path / "t" / "table.md").read_text()
    assert "| scale | arch=EDSR | 100.0 | 50.0 | 99-100 |" in md
    # a rerun reuses every finished cell
    n = len(fake_engine.trained)
    heldout.parse_table(parsing_render, tmp_path / "t", TINY_CLASSIFIER, device="cpu")
    assert len(fake_engine.trained) == n


def test_imported_table_distributions_and_summary(
    parsing_render: Path, tmp_path: Path, fake_engine: _FakeEngine
) -> None:
    table = imported.imported_table(parsing_render, tmp_path / "imp", TINY_CLASSIFIER, device="cpu", split="all")
    info = table["models"][IMPORTED[0]]
    assert info["n_images"] == 24 and info["scale"] == 2 and info["loss"] == "L1"
    assert info["predictions"]["scale"] == {"2": 1.0, "4": 0.0}
    assert info["predictions"]["arch"]["EDSR"] == 1.0
    assert table["summary"]["scale_accuracy"] == 1.0 and table["summary"]["loss_family_accuracy"] == 1.0
    assert "| thirdparty_edsr_x2 | EDSR | x2 | L1 |" in (tmp_path / "imp" / "imported.md").read_text()


def test_cli_parse_train_and_bad_holdout(parsing_render: Path, tmp_path: Path, fake_engine: _FakeEngine) -> None:
    from typer.testing import CliRunner

    from srprint.cli import app

    runner = CliRunner()
    args = [
        "parse",
        "train",
        "--data",
        str(parsing_render),
        "--target",
        "loss",
        "--out",
        str(tmp_path / "r"),
        "--backbone",
        "test_convnext",
        "--crop",
        "32",
        "--json",
    ]
    r = runner.invoke(app, [*args, "--holdout", "arch=EDSR"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["target"] == "loss" and res["holdout"] == "arch=EDSR" and res["accuracy"] == 1.0
    assert res["classes"] == ["L1", "VGG+Adv"] and res["test_models"] == 2
    r = runner.invoke(app, [*args[:-1], "--out", str(tmp_path / "r2"), "--holdout", "arch=NLSN"])
    assert isinstance(r.exception, HoldoutError) and "values: EDSR, RCAN, RDN" in str(r.exception)


def test_scale_parser_with_an_arch_held_out_beats_chance(parsing_render: Path, tmp_path: Path) -> None:
    # trained on EDSR and RCAN only, tested on every RDN image (never seen): x2 vs x4, chance 0.5
    res = heldout.train_heldout(
        parsing_render, "scale", "arch=RDN", out=tmp_path / "p", cfg=TINY_CLASSIFIER, test_split="all"
    )
    assert res["n_test"] == 2 * 24 and res["chance"] == pytest.approx(0.5)
    assert res["accuracy"] >= 0.8
    # another tile count re-scores the finished cell from its weights; it never retrains
    state = tmp_path / "p" / "state.pt"
    before = state.stat().st_mtime_ns
    centre = heldout.train_heldout(
        parsing_render, "scale", "arch=RDN", out=tmp_path / "p", cfg=TINY_CLASSIFIER, test_split="all", tiles=1
    )
    assert (res["tiles"], centre["tiles"]) == (3, 1) and centre["n_test"] == res["n_test"]
    assert state.stat().st_mtime_ns == before
    assert json.loads((tmp_path / "p" / "heldout.json").read_text())["tiles"] == 1
