"""Trained references of a suspect's architecture (verification.trained_references, verify --train-references)."""

import json

import pytest
import torch
from typer.testing import CliRunner

from srprint.cli import app
from srprint.errors import SrprintError
from srprint.io.checkpoints import load_weights
from srprint.verification import ownership
from srprint.verification.trained_references import trained_references

from .conftest import make_sr_entry

FAST = {"iters": 3, "lr": 5e-4, "batch": 2, "patch": 16, "data": "skimage"}


def test_trained_references_are_the_suspects_layout_trained_apart_and_cached(tmp_path):
    src = make_sr_entry(tmp_path / "zoo", "EDSR-tiny-x2-s1", 1)
    refs = trained_references(src, 2, recipe=FAST, folder=tmp_path / "refs")
    assert [r.id for r in refs] == ["trained-ref-EDSR-s1000", "trained-ref-EDSR-s1001"]
    a, b, s = (load_weights(e.weights_path) for e in (*refs, src))
    assert set(a) == set(s) and all(a[k].shape == s[k].shape for k in s)
    assert not any(torch.equal(a[k], b[k]) or torch.equal(a[k], s[k]) for k in s if a[k].numel() > 1)
    # independent of the suspect by its labels, so the null may take them (and takes them for its architecture)
    assert not ownership.lineage_ancestors(refs[0]) & ownership.lineage_ancestors(src)
    assert [r.id for r in ownership.select_references(refs, src, src)] == [r.id for r in refs]
    mtime = (refs[0].path / "model.safetensors").stat().st_mtime_ns
    again = trained_references(src, 1, recipe=FAST, folder=tmp_path / "refs")  # reused, not trained again
    assert (again[0].path / "model.safetensors").stat().st_mtime_ns == mtime
    assert trained_references(src, 0) == []
    with pytest.raises(SrprintError, match="out of range"):
        trained_references(src, 33)


def test_verify_pair_train_references_puts_them_in_the_lineage_null(tmp_path, monkeypatch):
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("srprint.verification.trained_references.TRAIN_RECIPE", FAST)
    a = make_sr_entry(tmp_path / "zoo_a", "EDSR-tiny-x2-s1", 1)
    b = make_sr_entry(tmp_path / "zoo_b", "EDSR-tiny-x2-s2", 2)
    out = CliRunner().invoke(app, ["verify", "pair", str(a.path), str(b.path), "--json", "--train-references", "3",
                                   "--reference", str(tmp_path / "zoo_a")])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout.strip().splitlines()[-1])
    null = res["lineage"]["null_models"]
    assert sum(m.startswith("trained-ref-EDSR-s") for m in null) == 3, null
    assert len(list((tmp_path / "home" / "verification" / "trained-references").rglob("model.json"))) == 3
    bad = CliRunner().invoke(app, ["verify", "pair", str(a.path), str(b.path), "--train-references", "40"])
    assert bad.exit_code == 2


def test_train_references_is_refused_where_no_lineage_null_is_drawn():
    from srprint.verification.references import check_trained_references

    check_trained_references(0, "critical")
    check_trained_references(4, "lineage")
    with pytest.raises(SrprintError, match="--method lineage"):
        check_trained_references(4, "critical")
