"""The lineage graph read from each model's own lookup (srprint.lineage.forest)."""

from __future__ import annotations

import shutil

from srprint.errors import SrprintError
from srprint.lineage.build import index_models
from srprint.lineage.forest import forest_edges, own_lookups
from srprint.lineage.store import LineageIndex

NODES = [{"id": i, "group": "g"} for i in ("root", "ft1", "ft2", "sib", "other")]


def ans(answer, match, fwer=1e-3, **rel):
    return {"answer": answer, "match": match, "fwer": fwer, "text": "", "relation": {"candidate": match, **rel}}


def pairs(edges):
    return sorted((e["parent"], e["child"], e["relation"]) for e in edges)


def test_each_model_names_its_own_parent():
    answers = {"root": ans("parent", "ft1"), "ft1": ans("derived", "root"), "ft2": ans("derived", "ft1"),
               "sib": ans("shares a parent", "ft1"), "other": ans("unknown", None, fwer=None)}
    edges = forest_edges(NODES, answers)
    assert pairs(edges) == [("ft1", "ft2", "derived"), ("root", "ft1", "derived")]
    assert all(e["directed"] and e["confidence"] == 1 - 1e-3 for e in edges)
    assert {e["claimed_by"] for e in edges} == {"ft1", "ft2"}  # root's claim about ft1 is ft1's own answer


def test_a_parent_claim_counts_only_where_the_child_named_no_parent():
    answers = {"root": ans("parent", "sib"), "sib": ans("shares a parent", "ft1"),
               "ft1": ans("parent", "ft2", fwer=1e-4), "ft2": ans("derived", "root", fwer=1e-2)}
    edges = forest_edges(NODES, answers)
    # sib named no parent: root's claim stands; ft2 named root: ft1's claim about ft2 is left out
    assert pairs(edges) == [("root", "ft2", "derived"), ("root", "sib", "derived")]


def test_a_cycle_keeps_the_more_confident_answer_and_weak_answers_give_no_edge():
    answers = {"ft1": ans("derived", "ft2", fwer=1e-2), "ft2": ans("derived", "ft1", fwer=1e-4),
               "root": ans("derived", "sib", fwer=0.2), "sib": ans("same model", "other", fwer=1e-3)}
    edges = forest_edges(NODES, answers)
    assert pairs(edges) == [("ft1", "ft2", "derived"), ("other", "sib", "same model")]
    assert [e["directed"] for e in sorted(edges, key=lambda e: e["child"])] == [True, False]
    answers["root"] = ans("derived (direction unknown)", "ft1")  # a link without a direction: undirected
    assert [(e["child"], e["directed"]) for e in forest_edges(NODES, answers) if e["parent"] == "ft1"] == [
        ("ft2", True), ("root", False)]
    nodes = [*NODES, {"id": "x4-model", "group": "h"}]  # another group: never an edge
    assert forest_edges(nodes, {"x4-model": ans("derived", "root")}) == []


def test_own_lookups_are_stored_and_looked_up_again_when_the_group_changes(population, tmp_path):
    d, zoo = tmp_path / "ix", tmp_path / "zoo"
    shutil.copytree(population["zoo"], zoo)  # a folder of its own: one entry is deleted below
    index_models([zoo], d)
    calls = []

    def lookup(path, index_dir, *, exclude):
        calls.append(next(iter(exclude)))
        return {"answer": "unknown", "match": None, "fwer": None, "text": "no relative", "relations": []}

    first = own_lookups(d, lookup=lookup)
    assert sorted(calls) == sorted(first) and len(calls) == 4
    assert all(a == {"answer": "unknown", "match": None, "fwer": None, "text": "no relative",
                     "seconds": a["seconds"], "relation": None} for a in first.values())
    calls.clear()
    assert own_lookups(d, lookup=lookup) == first and calls == []  # stored: nothing looked up again
    index_models([population["finetune"].path], d)  # the group changed: every model is looked up again
    assert len(own_lookups(d, lookup=lookup)) == 5 and len(calls) == 5
    gone = LineageIndex(d).find(model_id="EDSR-tiny-x2-r3")
    shutil.rmtree(gone.path)  # a record whose entry folder is gone cannot be looked up
    calls.clear()
    LineageIndex(d).remove("EDSR-tiny-x2-r4")
    out = own_lookups(d, lookup=lookup)
    assert out["EDSR-tiny-x2-r3"] is None and "EDSR-tiny-x2-r4" not in out and len(calls) == 3

    def broken(path, index_dir, *, exclude):
        if "EDSR-tiny-x2-r4" in exclude:
            raise SrprintError("weights unreadable")
        return lookup(path, index_dir, exclude=exclude)

    index_models([population["r4"].path], d)  # the group changed again
    out = own_lookups(d, lookup=broken)  # one failed lookup is that model's *unknown*, not the graph's failure
    assert out["EDSR-tiny-x2-r4"]["answer"] == "unknown" and "weights unreadable" in out["EDSR-tiny-x2-r4"]["text"]
    calls.clear()
    assert own_lookups(d, lookup=lookup)["EDSR-tiny-x2-r4"]["text"] == "no relative" and calls == ["EDSR-tiny-x2-r4"]
