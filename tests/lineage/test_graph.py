"""srprint.lineage.graph: the relations confirmed at index time, one parent per model, and the query's walk."""

from __future__ import annotations

import json
import sqlite3

import pytest

from srprint.lineage import graph
from srprint.lineage.build import index_models
from srprint.lineage.query import query_file
from srprint.lineage.store import LineageIndex
from srprint.lineage.tree import link_index


@pytest.fixture(scope="module")
def linked(population, tmp_path_factory):
    d = tmp_path_factory.mktemp("lineage_graph") / "ix"
    index_models([population["zoo"], population["finetune"].path], d)
    seen = []
    res = link_index(d, k=2, progress=lambda mid, n, s: seen.append(mid))
    assert res["linked"] == 5 and len(seen) == 5
    return d


def test_index_time_links_store_each_pair_once_and_one_parent(linked):
    ix = LineageIndex(linked)
    with sqlite3.connect(linked / "records.sqlite") as con:
        pairs = con.execute("SELECT a, b FROM relations").fetchall()
        children = [c for (c,) in con.execute("SELECT child FROM parents").fetchall()]
    assert len({frozenset(p) for p in pairs}) == len(pairs) > 0
    assert len(children) == len(set(children))  # the primary key: one parent per model
    assert graph.parents(ix) == {"EDSR-tiny-x2-r2+finetune20": "EDSR-tiny-x2-r2"}
    assert link_index(linked, k=2)["linked"] == 0  # resumes: nothing left to link


def test_the_tree_command_reads_the_stored_graph(linked, tmp_path):
    from srprint.cli import main

    out = tmp_path / "tree.json"
    main(["lineage", "tree", "--index", str(linked), "-o", str(out), "--k", "2", "--json"])
    edges = [(e["parent"], e["child"]) for e in json.loads(out.read_text())["edges"]]
    assert edges == [("EDSR-tiny-x2-r2", "EDSR-tiny-x2-r2+finetune20")]


def test_a_query_walks_from_a_relative_to_its_stored_family(population, linked):
    # the root, left out of its own lookup, confirms its nearest sketch only: its child, then walks on
    res = query_file(population["r2"].path, linked, exclude=frozenset({"EDSR-tiny-x2-r2"}), n_confirm=1)
    assert res["answer"] == "parent" and res["match"] == "EDSR-tiny-x2-r2+finetune20", res["text"]
    assert "EDSR-tiny-x2-r2" not in res["walked"]
    res = query_file(population["finetune"].path, linked, exclude=frozenset({"EDSR-tiny-x2-r2+finetune20"}))
    assert res["answer"] == "derived" and res["match"] == "EDSR-tiny-x2-r2", res["text"]


def test_an_independent_model_looks_further_and_stays_unknown(population, linked):
    res = query_file(population["indep"].path, linked, n_confirm=1, n_more=2)
    assert res["answer"] == "unknown", res["text"]
    # confirmed first: the nearest sketch and the nearest in weights of its layout (one budget each), then 2 more
    first = {res["candidates"][0]["id"], *res["weight_nearest"]}
    assert len(res["weight_nearest"]) == 1
    assert len(res.get("looked_further", [])) == 2 and len(res["relations"]) == len(first) + 2


def test_removing_a_model_forgets_its_relations(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["r2"].path, population["finetune"].path], d)
    link_index(d, k=1)
    ix = LineageIndex(d)
    assert graph.known_pairs(ix)
    ix.remove("EDSR-tiny-x2-r2+finetune20")
    assert not graph.known_pairs(ix) and graph.parents(ix) == {} and len(graph.linked_keys(ix)) == 1


def test_a_graph_another_statistic_confirmed_is_not_read_and_is_linked_again(linked, tmp_path, monkeypatch):
    import shutil

    from srprint.lineage import forest

    d = tmp_path / "ix"
    shutil.copytree(linked, d)
    ix = LineageIndex(d)
    digest = forest.population_digest(ix.records(next(iter(ix.groups()))))
    monkeypatch.setattr(graph, "STATISTIC_VERSION", "v-next")
    monkeypatch.setattr(forest, "STATISTIC_VERSION", "v-next")
    assert graph.linked_keys(ix) == {} and graph.parents(ix) == {}  # stale: a query does not walk it
    assert forest.population_digest(ix.records(next(iter(ix.groups())))) != digest  # stored lookups: asked again
    assert link_index(d, k=2)["linked"] == 5  # cleared, then every model confirmed again under the new version
    assert graph.parents(ix) == {"EDSR-tiny-x2-r2+finetune20": "EDSR-tiny-x2-r2"}
    with sqlite3.connect(d / "records.sqlite") as con:
        assert con.execute("SELECT value FROM meta WHERE name = 'graph_statistic'").fetchone() == ("v-next",)
