"""srprint.lineage.relate: the direction rules and the choice of the parent among confirmed relatives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from srprint.lineage.relate import (
    QUALITY_MARGIN_DB,
    SUSPECT,
    Relation,
    choose,
    direction,
    quality_side,
    quantised_reupload,
    weight_distance,
)

TRAINED = {"trivial_db": 25.0}


def stats(db: float, **kw: object) -> dict[str, object]:
    return {**TRAINED, "heldout_db": db, **kw}


def rel(cand: str, relation: str, distance: float | None, function_db: float = 40.0,
        verdict: str = "shared parent") -> Relation:
    return Relation(cand, relation, verdict, 1e-5, function_db, 0.1, distance=distance)


def test_a_finetune_of_a_trained_model_is_the_worse_one():
    child, parent = stats(27.8), stats(28.1)
    assert quality_side(child, parent)[0] == 1
    assert quality_side(parent, child)[0] == -1
    side, ev = direction(child, parent)
    assert side == 1 and "worse" in ev[0]


def test_quality_too_close_or_untrained_does_not_order():
    assert quality_side(stats(28.0), stats(28.0 + QUALITY_MARGIN_DB / 2))[0] == 0
    untrained = {"trivial_db": 25.0, "heldout_db": 24.0}  # a random initialisation: worse than bicubic
    side, why = quality_side(untrained, stats(28.0))
    assert side == 0 and "not a trained model" in why
    assert quality_side({}, stats(28.0)) is None  # an index built before the statistic was recorded


def test_storage_grid_outranks_quality():
    fp16_copy = stats(28.5, fp16=True)
    side, ev = direction(fp16_copy, stats(28.0))
    assert side == 1 and "fp16" in ev[0]


def test_declared_source_breaks_a_tie_only():
    tie = stats(28.0)
    side, ev = direction(tie, dict(tie), sus_meta={}, cand_meta={"source_url": "https://example.org/m"})
    assert side == 1 and "tie-breaker" in ev[-1]
    side, _ = direction(stats(28.5), stats(28.0), sus_meta={}, cand_meta={"source_url": "https://example.org/m"})
    assert side == -1  # the quality rule decided before the tie-breaker was read


def test_the_parent_is_the_closest_model_the_suspect_derives_from():
    # ft2 of a chain root - ft1 - ft2, with a sibling: ft2 derives from ft1 and from the root
    ft2 = [rel("root", "derived", 0.09), rel("ft1", "derived", 0.05), rel("sib", "shares a parent", 0.04)]
    assert choose(ft2).candidate == "ft1"
    # the root of a star: every relative derives from it; the answer names the closest child
    root = [rel("ft2", "parent", 0.09), rel("sib", "parent", 0.05), rel("ft1", "parent", 0.06)]
    best = choose(root)
    assert best.relation == "parent" and best.candidate == "sib"


def test_a_reupload_wins_and_nothing_related_is_unknown():
    same = Relation("orig", "same model", "copy", None, np.inf, 0.0)
    assert choose([rel("root", "derived", 0.01), same]).candidate == "orig"
    assert choose([]) is None
    assert choose([rel("a", "shares a parent", 0.2), rel("b", "shares a parent", 0.1)]).candidate == "b"


def test_a_quantised_reupload_is_the_nearest_in_weights_an_exact_one_the_closest_function():
    # an int8 re-upload of the root: quantisation noise made its fine-tune agree better on the probes (as
    # SPAN x4's did, 24.30 against 24.09 dB); in weights the root is the nearer
    distance = _tree_distance({frozenset((SUSPECT, "root")): 0.5, frozenset((SUSPECT, "sib")): 0.7})
    quantised = [rel("sib", "same model", 0.02, function_db=24.3, verdict="copy"),
                 rel("root", "same model", 0.02, function_db=24.1, verdict="copy")]
    assert choose(quantised).candidate == "sib"  # no weight distance known: the closest function, as before
    assert choose(quantised, distance=distance).candidate == "root"
    # a re-upload computing the same function (fp16, permuted) still wins by its function, whatever the weights
    exact = rel("sib", "same model", 0.0, function_db=90.0, verdict="copy")
    assert choose([exact, quantised[1]], distance=distance).candidate == "sib"


def test_what_made_a_same_model_is_recorded_not_inferred_from_the_function_distance():
    distance = _tree_distance({frozenset((SUSPECT, "root")): 0.5, frozenset((SUSPECT, "sib")): 0.7})
    # the function stage said *same* below SAME_FUNCTION_DB: a re-upload by its function, not by a grid
    by_function = replace(rel("sib", "same model", 0.02, function_db=55.0, verdict="copy"), same_by="function")
    by_grid = replace(rel("root", "same model", 0.02, function_db=56.0, verdict="copy"), same_by="storage grid")
    assert not quantised_reupload(by_function) and quantised_reupload(by_grid)
    assert choose([by_function, by_grid], distance=distance).candidate == "sib"
    # answers stored before the field: inferred from the function distance, as the rule was written
    assert quantised_reupload(replace(by_function, same_by=""))
    assert choose([replace(by_function, same_by=""), replace(by_grid, same_by="")],
                  distance=distance).candidate == "root"
    assert Relation(**{**vars(by_grid), "record": {}}).to_dict()["same_by"] == "storage grid"


def test_a_relation_reads_back_what_it_wrote():
    rel = Relation("root", "derived", "copy", 1e-5, 41.5, 0.2, ["fp16 cast"], ["coarser grid"], "why",
                   fwer=0.01, record={"licence": "MIT", "stats": {"params": 3}}, distance=0.3, seconds=1.5,
                   same_by="function")
    back = Relation.from_dict(rel.to_dict(), record=rel.record)
    assert back == rel
    assert Relation.from_dict({**rel.to_dict(), "fwer": None}, fwer=0.2).fwer == 0.2  # fields override
    old = {k: v for k, v in rel.to_dict().items() if k not in ("same_by", "seconds", "sketch_distance")}
    assert (Relation.from_dict(old).same_by, Relation.from_dict(old).seconds) == ("", 0.0)  # stored before them


def test_a_loose_link_to_another_family_does_not_outrank_the_family():
    # a published root whose fine-tunes are copies of it, and a loose shared parent with another root
    found = [rel("ft1", "parent", 0.0001, verdict="copy"), rel("sib", "parent", 0.0002, verdict="copy"),
             rel("other-root", "derived", 0.85)]
    best = choose(found)
    assert best.candidate == "ft1" and best.relation == "parent"


def test_the_stored_graph_tells_a_parent_from_a_grandparent_and_a_child_from_a_grandchild():
    stored = {"ft1": "root", "ft2": "ft1", "sib": "root"}
    # ft2 derives from ft1 (closer) and from the root, the stored parent of ft1: ft1
    ft2 = [rel("root", "derived", 0.06), rel("ft1", "derived", 0.05)]
    assert choose(ft2, parent_of=stored).candidate == "ft1"
    # a sibling ordered by the direction rules (sib "derives from" ft1) but nearer the root: the root stays
    sib = [rel("root", "derived", 0.04), rel("ft1", "derived", 0.05)]
    assert choose(sib, parent_of=stored).candidate == "root"
    # the root of a chain: ft2 is closest, but it descends from ft1, another child found
    root = [rel("ft2", "parent", 0.03), rel("ft1", "parent", 0.05), rel("sib", "parent", 0.06)]
    assert choose(root, parent_of=stored).candidate == "ft1"
    # a graph that says nothing about these models changes nothing
    assert choose(sib, parent_of={"x": "y"}).candidate == "root"




def _tree_distance(d: dict[frozenset[str], float]):
    return lambda x, y: d.get(frozenset((x, y)))


def test_the_sibling_rule_passes_over_a_grandparent_and_an_uncle():
    # root -> ft1 (1.0), root -> sib (1.0), sib -> the suspect (0.5); distances add along the tree. The
    # direction rules called the suspect derived from the root and from ft1 (the quality rule orders any
    # two trained relatives) and sib derived from it (the wrong way)
    me = SUSPECT
    distance = _tree_distance({frozenset(("root", "ft1")): 1.0, frozenset(("root", "sib")): 1.0,
                               frozenset(("sib", "ft1")): 2.0, frozenset((me, "sib")): 0.5,
                               frozenset((me, "root")): 1.5, frozenset((me, "ft1")): 2.5})
    rels = [rel("sib", "parent", 0.5, verdict="copy"), rel("root", "derived", 1.5, verdict="copy"),
            rel("ft1", "derived", 2.5, verdict="copy")]
    assert choose(rels).candidate == "root"  # without the rule: its grandparent
    best = choose(rels, distance=distance)  # sib lies between it and both the root and ft1
    assert (best.candidate, best.relation) == ("sib", "parent")
    # a distance not known (another layout) never passes a relative over
    assert choose(rels, distance=lambda x, y: None).candidate == "root"


def test_the_sibling_rule_keeps_the_parent_and_passes_over_a_sibling():
    # root -> the suspect, root -> s2 (1.0 each; the siblings 1.4 apart). The verdict's statistic puts the
    # sibling nearer than the root, and the quality rule calls the suspect derived from both
    me = SUSPECT
    distance = _tree_distance({frozenset(("root", "s2")): 1.0, frozenset((me, "root")): 1.0,
                               frozenset((me, "s2")): 1.4})
    rels = [rel("s2", "derived", 0.2, verdict="copy"), rel("root", "derived", 0.3, verdict="copy")]
    assert choose(rels).candidate == "s2"
    assert choose(rels, distance=distance).candidate == "root"


def test_the_weight_distance_needs_one_layout():
    import torch

    a = {"w": torch.zeros(2, 2), "b": torch.zeros(2), "n": torch.tensor(3)}
    b = {"w": torch.ones(2, 2), "b": torch.zeros(2), "n": torch.tensor(5)}
    assert weight_distance(a, b) == 2.0  # sqrt(4 * 1); integer buffers are not weights
    assert weight_distance(a, {"w": torch.ones(2, 2)}) is None
    assert weight_distance(a, {"w": torch.ones(4), "b": torch.zeros(2)}) is None


def test_relate_records_what_made_a_same_model(monkeypatch):
    from types import SimpleNamespace

    import srprint.verification.ownership as ownership
    from srprint.lineage.relate import relate

    def verdict(decision: str, verdict: str = "copy"):
        return lambda *a, **k: SimpleNamespace(verdict=verdict, functional={"decision": decision}, lineage={},
                                               explanation="")

    entry = SimpleNamespace(id="cand")
    kw = {"record": {"stats": {"params": 10}}, "function_db": 50.0, "sketch_distance": 0.1, "load": None}
    monkeypatch.setattr(ownership, "verify_models", verdict("same"))
    assert relate(entry, entry, suspect_stats={"params": 10}, **kw).same_by == "function"
    monkeypatch.setattr(ownership, "verify_models", verdict("different", "shared parent"))
    got = relate(entry, entry, suspect_stats={"params": 10, "grid_levels": 200}, **kw)
    assert (got.relation, got.same_by) == ("same model", "storage grid")
    got = relate(entry, entry, suspect_stats={"params": 10}, **kw)
    assert got.same_by == "" and got.relation != "same model"


def test_relate_records_whether_the_verdict_computed_a_null(monkeypatch):
    from types import SimpleNamespace

    import srprint.verification.ownership as ownership
    from srprint.lineage.relate import relate

    def verdict(functional: dict, lineage: dict):
        return lambda *a, **k: SimpleNamespace(verdict="independent", functional=functional, lineage=lineage,
                                               explanation="")

    entry = SimpleNamespace(id="cand")
    kw = {"record": {"stats": {}}, "suspect_stats": {}, "function_db": 20.0, "sketch_distance": 0.5, "load": None}
    for functional, lineage, expect in (({"null_cached": True}, {"null_cached": True}, False),
                                        ({"null_cached": True}, {"null_cached": False}, True),
                                        ({"null_cached": False}, {}, True),
                                        ({}, {}, None)):
        monkeypatch.setattr(ownership, "verify_models", verdict(functional, lineage))
        got = relate(entry, entry, **kw)
        assert got.nulls_computed is expect
        assert Relation.from_dict(got.to_dict()).nulls_computed is expect


def test_verify_models_says_when_its_nulls_were_read_back(tmp_path, monkeypatch):
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.ownership import verify_models
    from srprint.zoo.entry import ZooEntry

    from ..verification.conftest import make_sr_entry

    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    for i in range(3):
        make_sr_entry(tmp_path, f"m{i}", seed=i)
    a, b, c = (ZooEntry.load(tmp_path / f"m{i}") for i in range(3))
    first = verify_models(a, b, load=load_entry_model, references=[c], cache={})
    again = verify_models(a, b, load=load_entry_model, references=[c], cache={})
    assert first.functional["null_cached"] is False and again.functional["null_cached"] is True
    assert first.lineage["null_cached"] is False and again.lineage["null_cached"] is True
