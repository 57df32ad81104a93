"""srprint.lineage: lookups of re-uploads, edited copies, a fine-tune and an independent model."""

from __future__ import annotations

import pytest

from srprint.lineage.build import index_models
from srprint.lineage.familywise import holm
from srprint.lineage.query import query_file


@pytest.fixture(scope="module")
def index(population, tmp_path_factory):
    d = tmp_path_factory.mktemp("lineage_index") / "ix"
    res = index_models([population["zoo"]], d)
    assert [r.status for r in res["results"]] == ["added"] * 4
    return d


@pytest.mark.parametrize("name", ["renamed", "fp16", "permuted"])
def test_reuploads_are_the_same_model(population, index, name):
    res = query_file(population[name].path, index)
    assert res["answer"] == "same model", res["text"]
    assert res["match"] == "EDSR-tiny-x2-r1"
    assert res["lookup_ms"] >= 0 and res["candidates"][0]["id"] == "EDSR-tiny-x2-r1"


def test_reupload_edits_are_named(population, index):
    assert "fp16" in query_file(population["fp16"].path, index)["text"]
    assert "renamed" in query_file(population["renamed"].path, index)["text"]


def test_short_finetune_is_derived_in_the_right_direction(population, index):
    res = query_file(population["finetune"].path, index)
    assert res["answer"] == "derived", res["text"]
    assert res["match"] == "EDSR-tiny-x2-r2"
    assert res["fwer"] is not None and res["fwer"] < 1e-3


def test_the_parent_is_found_from_its_child(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["finetune"].path, population["r1"].path, population["r3"].path], d)
    res = query_file(population["r2"].path, d)
    assert res["answer"] == "parent" and res["match"] == "EDSR-tiny-x2-r2+finetune20", res["text"]


def test_an_independent_model_is_unknown(population, index):
    res = query_file(population["indep"].path, index)
    assert res["answer"] == "unknown", res["text"]


def test_holm_counts_every_indexed_model():
    assert holm([1e-4, None, 2e-4], 10) == [1e-3, None, pytest.approx(1.8e-3)]


def test_tree_has_the_finetune_edge_and_no_false_edge(population, tmp_path):
    from srprint.cli import main

    d = tmp_path / "ix"
    index_models([population["zoo"], population["finetune"].path], d)
    out = tmp_path / "tree.json"
    main(["lineage", "tree", "--index", str(d), "-o", str(out), "--json"])
    import json

    tree = json.loads(out.read_text())
    edges = {(e["parent"], e["child"]): e for e in tree["edges"]}
    assert list(edges) == [("EDSR-tiny-x2-r2", "EDSR-tiny-x2-r2+finetune20")]
    e = edges[("EDSR-tiny-x2-r2", "EDSR-tiny-x2-r2+finetune20")]
    assert e["directed"] and e["confidence"] > 0.999
    assert out.with_suffix(".png").stat().st_size > 1000


def test_licence_is_carried_and_a_false_declared_parent_is_flagged(population, tmp_path):
    from .conftest import relabelled

    parent = relabelled(population["r2"], tmp_path / "r2", labels={"licence": "CC-BY-NC-SA-4.0"})
    found = relabelled(population["finetune"], tmp_path / "found", labels={"declared_parent": "EDSR-tiny-x2-r3"})
    d = tmp_path / "ix"
    index_models([parent.path, population["r3"].path], d)
    res = query_file(found.path, d)
    assert res["answer"] == "derived" and "whose licence is CC-BY-NC-SA-4.0" in res["text"], res["text"]
    assert res["flags"] and "EDSR-tiny-x2-r3" in res["flags"][0]


def test_a_pair_the_verdict_cannot_compare_does_not_end_the_lookup(population, index, monkeypatch):
    import srprint.lineage.query as q

    real = q.relate
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args[1].id)
        if len(calls) == 1:
            raise ValueError("matmul: mismatch in its core dimension")
        return real(*args, **kwargs)

    monkeypatch.setattr(q, "relate", flaky)
    res = query_file(population["finetune"].path, index)
    first = res["relations"][0]
    assert first["verdict"] == "error" and first["relation"] == "unrelated" and len(calls) > 1


def test_a_lookup_names_the_registered_owner_of_its_answer(population, index, tmp_path):
    import numpy as np

    from srprint.errors import SrprintError
    from srprint.lineage.owners import lookup
    from srprint.verification.fingerprint import Fingerprint, FingerprintSettings
    from srprint.verification.fingerprint_store import Registry

    def fp(model_id: str) -> Fingerprint:
        return Fingerprint(FingerprintSettings(), np.full(30, 1 / 30), [np.zeros((8, 8, 3), np.uint8)],
                           model={"id": model_id})

    reg = Registry(tmp_path / "owners.sqlite")
    reg.add("alice", fp("EDSR-tiny-x2-r2"))
    reg.add("bob", fp("EDSR-tiny-x2-r3"))
    res = lookup(population["finetune"].path, index, registry=tmp_path / "owners.sqlite")
    assert [(o["name"], o["relation"], o["answer"]) for o in res["owners"]] == [("alice", "derived", True)]
    with pytest.raises(SrprintError, match="registry not found"):
        lookup(population["finetune"].path, index, registry=tmp_path / "missing.sqlite")


def test_registry_check_reports_what_the_lineage_index_says(population, index, tmp_path, capsys):
    import json

    import numpy as np

    from srprint.cli import main
    from srprint.io.checkpoints import sha256_file
    from srprint.verification.fingerprint import Fingerprint, FingerprintSettings
    from srprint.verification.fingerprint_store import Registry

    owner = population["r2"]  # the fine-tune's parent, on disk: checked by parameter lineage (no optimisation)
    reg = tmp_path / "owners.sqlite"
    Registry(reg).add("alice", Fingerprint(FingerprintSettings(), np.full(30, 1 / 30), [np.zeros((8, 8, 3), np.uint8)],
                                           model={"id": owner.id, "path": str(owner.path),
                                                  "sha256": sha256_file(owner.weights_path)}))
    suspect = str(population["finetune"].path)
    main(["registry", "check", suspect, "--registry", str(reg), "--index", str(index), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert [o["name"] for o in res["owners"]] == ["alice"]
    assert res["lineage"]["answer"] == "derived" and res["lineage"]["match"] == owner.id
    assert [(o["name"], o["relation"], o["answer"]) for o in res["lineage"]["owners"]] == [("alice", "derived", True)]
    main(["registry", "check", suspect, "--registry", str(reg), "--index", str(index)])
    assert "registered owners it names: alice (derived)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # a missing index: one line, exit 2
        main(["registry", "check", suspect, "--registry", str(reg), "--index", str(tmp_path / "no-index")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.strip().count("\n") == 0 and "not a lineage index" in err
