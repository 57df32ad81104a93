from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from srprint.cli import main


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["srprint", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_eval_json(tiny_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, "attribute", "eval", str(tiny_run), "--json", "--device", "cpu") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_classes"] == 4 and 0.5 <= out["overall_acc"] <= 1.0
    assert "openset" in out and "seed_groups" in out
    assert out["tiles"] == 3  # the command's default grid
    assert _run(monkeypatch, "attribute", "eval", str(tiny_run), "--json", "--tiles", "1") == 0
    assert json.loads(capsys.readouterr().out)["tiles"] == 1
    assert _run(monkeypatch, "attribute", "eval", str(tiny_run), "--tiles", "0") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'--tiles'" in err and "greater than or equal to 1" in err


def test_train_errors_are_one_line(tiny_render: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(monkeypatch, "attribute", "train", "--data", str(tiny_render), "--out", str(tmp_path / "r"),
                "--where", "loss=VGG+Adv", "--device", "cpu")
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "matches no image" in err
    code = _run(monkeypatch, "attribute", "train", "--data", str(tiny_render), "--out", str(tmp_path / "r"),
                "--backbone", "nope")
    assert code == 2 and "unknown backbone" in capsys.readouterr().err
    code = _run(monkeypatch, "attribute", "predict", str(tmp_path), str(tiny_render))
    assert code == 2 and "not a classifier run" in capsys.readouterr().err


def test_jpeg_augmentation_options_reach_the_run_and_are_checked(
    tiny_render: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    for flag, bad, msg in (("--jpeg-augment", "1.5", "less than or equal to 1"),
                          ("--jpeg-quality-min", "0", "greater than or equal to 1")):
        code = _run(monkeypatch, "attribute", "train", "--data", str(tiny_render), "--out", str(tmp_path / "x"),
                    flag, bad)
        assert code == 2 and msg in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before any work
    run = tmp_path / "r"
    code = _run(monkeypatch, "attribute", "train", "--data", str(tiny_render), "--out", str(run),
                "--backbone", "test_convnext", "--crop", "32", "--head-epochs", "0", "--epochs", "1",
                "--max-per-class", "4", "--jpeg-augment", "0.9", "--jpeg-quality-min", "85", "--device", "cpu")
    assert code == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())["classifier"]
    assert (cfg["jpeg_augment"], cfg["jpeg_quality_min"], cfg["dct_eps"]) == (0.9, 85, 0.01)
