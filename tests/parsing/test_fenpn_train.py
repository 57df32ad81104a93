"""FEN + PN end to end on the tiny render: train, resume-skip, predict, score, CV, CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from srprint.errors import SrprintError
from srprint.parsing.archstats import zoo_label_table
from srprint.parsing.fenpn_eval import detection_auc, parsing_scores, run_fen_cv
from srprint.parsing.fenpn_train import load_fen_pn, predict_fen_pn, train_fen_pn
from srprint.parsing.pn import FenPnConfig
from srprint.parsing.schema import zoo_schema
from srprint.render.manifest import RenderedDataset

TINY_FEN = FenPnConfig(
    crop=32, fen_depth=1, fen_width=4, pn_width=4, feat_dim=32, epochs=2, batch_size=16, max_per_model=6
)


@pytest.fixture(scope="module")
def labelled(parsing_render: Path):  # noqa: ANN201
    ds = RenderedDataset.open(parsing_render)
    table = zoo_label_table(frame=ds.frame[ds.frame["source"] == "trained"])
    return ds, table, zoo_schema(table)


@pytest.fixture(scope="module")
def fen_run(labelled, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    ds, table, schema = labelled
    train = [m for m in table["model_id"] if not m.startswith("RCAN")]
    return train_fen_pn(
        ds.root, ds.frame, table, schema=schema, train_models=train, out=tmp_path_factory.mktemp("fen") / "run",
        cfg=TINY_FEN, quiet=True
    )


def test_train_writes_a_loadable_run_and_skips_when_done(fen_run: Path, labelled) -> None:  # noqa: ANN001
    ds, table, schema = labelled
    run = load_fen_pn(fen_run)
    assert run.record["train_models"] == sorted(m for m in table["model_id"] if not m.startswith("RCAN"))
    assert [h["epoch"] for h in run.record["history"]] == [1, 2]
    assert {"fingerprint", "parsing", "detection", "attribution"} <= set(run.record["history"][0])
    assert not (fen_run / "state.pt").exists()
    mtime = (fen_run / "fenpn.safetensors").stat().st_mtime
    train = run.record["train_models"]
    assert train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=fen_run,
                        cfg=TINY_FEN) == fen_run  # finished: reused
    assert (fen_run / "fenpn.safetensors").stat().st_mtime == mtime
    # a finished run is never silently reused for other settings
    with pytest.raises(SrprintError, match=r"config\.loss_scale differ"):
        train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=fen_run,
                     cfg=dataclasses.replace(TINY_FEN, loss_scale="dft"))
    with pytest.raises(SrprintError, match="train_models"):
        train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=["x"], out=fen_run, cfg=TINY_FEN)
    with pytest.raises(SrprintError, match="label_shuffle_seed"):
        train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=fen_run, cfg=TINY_FEN,
                     label_shuffle_seed=3)
    assert (fen_run / "fenpn.safetensors").stat().st_mtime == mtime


def test_predict_and_scores(fen_run: Path, labelled) -> None:  # noqa: ANN001
    ds, table, schema = labelled
    frame = ds.frame[ds.frame["split"] == "test"]
    pred = predict_fen_pn(fen_run, ds.root, frame)
    n = len(frame)
    assert pred.continuous.shape == (n, len(schema.continuous))
    assert np.allclose(pred.discrete["loss"].sum(1), 1, atol=1e-5)
    assert set(pred.fingerprints) == set(frame["model_id"]) and pred.fingerprints["HR"].shape == (3, 32, 32)
    assert 0.0 <= detection_auc(pred) <= 1.0
    s1 = parsing_scores(pred, table, schema, n_images=1)
    s10 = parsing_scores(pred, table, schema, n_images=10)
    assert s1["n_chunks"] == 6 * 6 and s10["n_chunks"] == 6  # 6 test images per model: one chunk each
    for key in ("l1", "f1_discrete", "f1_coarse", "f1_fine"):
        assert 0.0 <= s1[key] <= 1.0


def test_load_errors(tmp_path: Path) -> None:
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError, match="not a finished FEN"):
        load_fen_pn(tmp_path)
    (tmp_path / "fenpn.json").write_text("{not json")
    with pytest.raises(SrprintError, match="corrupt"):
        load_fen_pn(tmp_path)


def test_cross_validation_with_baselines(labelled, tmp_path: Path) -> None:  # noqa: ANN001
    ds, table, schema = labelled
    cfg = FenPnConfig(**{**TINY_FEN.__dict__, "epochs": 1, "max_per_model": 3})
    res = run_fen_cv(ds.root, ds.frame, table, schema=schema, out=tmp_path / "cv", cfg=cfg, n_folds=2, n_shuffles=2,
                     aggregate=(1, 10))
    assert set(res["variants"]) == {"fen", "nofp", "randomgt"}
    assert len(res["variants"]["randomgt"]["runs"]) == 2 * 2 and len(res["variants"]["fen"]["runs"]) == 2
    assert sorted(m for f in res["folds"] for m in f) == sorted(table["model_id"])
    nofp = json.loads((tmp_path / "cv" / "nofp" / "fold0" / "fenpn.json").read_text())
    assert nofp["config"]["fingerprint_losses"] is False and "fingerprint" not in nofp["history"][0]
    shuffled = json.loads((tmp_path / "cv" / "randomgt" / "fold0-shuffle1" / "fenpn.json").read_text())
    assert shuffled["label_shuffle_seed"] is not None
    md = (tmp_path / "cv" / "cv.md").read_text()
    assert "| randomgt | 10 |" in md


def test_cli_fen_predict_and_eval(fen_run: Path, parsing_render: Path) -> None:
    from srprint.cli import app

    runner = CliRunner()
    folder = parsing_render / "RCAN-skimage-x4-L1-s1"
    r = runner.invoke(app, ["fen", "predict", str(fen_run), str(folder), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["n_images"] == 24 and out["aggregate"]["scale"] in ("2", "4")
    assert out["aggregate"]["loss_coarse"] in ("pixel", "adversarial")
    r = runner.invoke(app, ["fen", "eval", str(fen_run), "--data", str(parsing_render), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert sorted(res["unseen_models"]) == ["RCAN-skimage-x2-VGG+Adv-s1", "RCAN-skimage-x4-L1-s1"]
    assert (fen_run / "fingerprints.png").stat().st_size > 0
    assert (fen_run / "fingerprint_similarity.png").stat().st_size > 0


def test_cli_parse_schema_gm_and_errors(tmp_path: Path) -> None:
    from srprint.cli import app

    runner = CliRunner()
    (tmp_path / "architecture.csv").write_text("gm,n_layers\nA,1\nB,2\n")
    (tmp_path / "loss.csv").write_text("gm,L1\nA,1\nB,0\n")
    r = runner.invoke(app, ["parse", "schema", "--gm-labels", str(tmp_path)])
    assert r.exit_code != 0
    assert "needs column" in str(r.exception)


def test_cli_fen_train_passes_the_loss_scale(parsing_render: Path, tmp_path: Path) -> None:
    from srprint.cli import app

    runner = CliRunner()
    common = ["fen", "train", "--data", str(parsing_render), "--crop", "32", "--depth", "1", "--width", "4",
              "--pn-width", "4", "--epochs", "1", "--max-per-class", "2"]
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "bad"), "--loss-scale", "sum"])
    assert r.exit_code != 0 and "loss_scale" in str(r.exception)
    assert not (tmp_path / "bad" / "fenpn.json").exists()
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "dft"), "--loss-scale", "dft"])
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "dft" / "fenpn.json").read_text())
    assert run["config"]["loss_scale"] == "dft"


def test_killed_run_resumes_only_with_its_own_settings(labelled, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import srprint.parsing.fenpn_train as pn

    ds, table, schema = labelled
    train = sorted(table["model_id"])[:3]
    out = tmp_path / "run"

    def killed(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise KeyboardInterrupt

    monkeypatch.setattr(pn, "atomic_write_json", killed)  # dies after the last epoch's checkpoint
    with pytest.raises(KeyboardInterrupt):
        train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=out, cfg=TINY_FEN, quiet=True)
    monkeypatch.undo()
    assert (out / "state.pt").is_file() and not (out / "fenpn.json").exists()
    with pytest.raises(SrprintError, match=r"config\.epochs differ"):
        train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=out,
                     cfg=dataclasses.replace(TINY_FEN, epochs=3))
    train_fen_pn(ds.root, ds.frame, table, schema=schema, train_models=train, out=out, cfg=TINY_FEN,
                 quiet=True)  # resumes: nothing left
    record = json.loads((out / "fenpn.json").read_text())
    assert [h["epoch"] for h in record["history"]] == [1, 2] and not (out / "state.pt").exists()
