"""The lineage graph of a tiny index in the report: the lineage section draws it from the result table."""

from __future__ import annotations

import io
import json

from PIL import Image

from srprint.lineage.build import index_models
from srprint.lineage.tree import assemble, lineage_tree, tree_png
from srprint.report.collect import collect_study


def test_the_tree_of_a_tiny_index_appears_in_the_report(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["zoo"], population["finetune"].path], d)
    tree = lineage_tree(d)
    results = tmp_path / "results"
    results.mkdir()
    (results / "lineage.json").write_text(json.dumps({"headline": [
        {"population": "tiny", "measure": "parent links", "k": 1, "n": 1, "ci95": [0.21, 1.0], "target": ">= 90 %",
         "met": False}], "tree": tree}, default=str))
    sec = next(s for s in collect_study(results) if s.key == "lineage")
    assert sec.ran and len(sec.figures) == 1
    Image.open(io.BytesIO(sec.figures[0]["png"])).load()
    edges = next(t for t in sec.tables if t["caption"] == "the graph's edges")["rows"]
    assert [r[:3] for r in edges] == [["EDSR-tiny-x2-r2", "EDSR-tiny-x2-r2+finetune20", "derived"]]
    rates = sec.tables[0]["rows"]
    assert rates[0][2].startswith("1/1 (95 % CI 21-100 %)") and rates[0][4] == "not met"


def test_assemble_keeps_one_tree_edge_per_pair_and_orients_it():
    nodes = [{"id": i, "group": "g"} for i in ("root", "ft1", "ft2", "other")]

    def r(relation, p, d):
        return {"relation": relation, "verdict": "shared parent", "p_value": p, "distance": d, "function_db": 40.0}

    pairs = [("ft1", "root", r("derived", 1e-6, 0.10)), ("ft2", "ft1", r("derived", 1e-6, 0.08)),
             ("ft2", "root", r("derived", 1e-6, 0.15)),  # closes a cycle: left out by the spanning forest
             ("other", "root", r("shares a parent", 0.2, 0.5))]  # FWER over 6 pairs far above 0.05
    edges = assemble(nodes, pairs, alpha=0.05)
    assert {(e["parent"], e["child"]) for e in edges} == {("root", "ft1"), ("ft1", "ft2")}
    assert all(e["directed"] and e["confidence"] > 0.99 for e in edges)
    png = tree_png({"nodes": nodes, "edges": edges}, isolated=False)
    assert png.startswith(b"\x89PNG")


def test_assemble_gives_no_model_two_parents():
    nodes = [{"id": i, "group": "g"} for i in ("a", "b", "child")]

    def r(relation, d):
        return {"relation": relation, "verdict": "copy", "p_value": 1e-8, "distance": d, "function_db": 40.0}

    # child derives from a and from b, a and b are not linked to each other: a spanning forest alone keeps both
    edges = assemble(nodes, [("child", "a", r("derived", 0.1)), ("child", "b", r("derived", 0.2))], alpha=0.05)
    assert [(e["parent"], e["child"]) for e in edges] == [("a", "child")]
