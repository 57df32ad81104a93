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
