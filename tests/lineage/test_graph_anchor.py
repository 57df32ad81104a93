"""The index-time graph oriented away from each family's anchor (srprint.lineage.graph, orient.by_component).

A stored family root -> ft1 -> ft2, root -> sib whose pairwise directions are those the benchmark saw: the
fine-tune of a fine-tune restores the held-out photo better than its parent, so the pairwise quality rule
stores the pair ft1 - ft2 the wrong way round.
"""

from __future__ import annotations

import numpy as np
import pytest

from srprint.lineage import graph
from srprint.lineage.relate import Relation, direction
from srprint.lineage.store import LineageIndex, Record

from .test_orient import QUALITY, family, stats  # noqa: F401  (family: a module fixture)

TRUE_PARENTS = {"ft1": "root", "ft2": "ft1", "sib": "root"}


def _relation(me: str, other: str, distance: float, me_stats: dict, other_stats: dict) -> Relation:
    side, ev = direction(me_stats, other_stats)
    rel = {1: "derived", -1: "parent", 0: "derived (direction unknown)"}[side]
    return Relation(other, rel, "copy", 1e-5, 40.0, 0.1, [], ev, record={"stats": other_stats}, distance=distance)


@pytest.fixture()
def stored(family, tmp_path):  # noqa: F811
    """An index holding the family, every pair confirmed at index time with the pairwise rules."""
    ix = LineageIndex(tmp_path / "ix", create=True)
    g = np.random.default_rng(0)
    recs = []
    for i, mid in enumerate(family):
        v = g.standard_normal(256)
        recs.append(Record(mid, f"{i:064x}", "EDSR", "sr", 2, "sr-x2", v / np.linalg.norm(v),
                           stats(QUALITY[mid])))
    ix.add(recs)
    graph.ensure_schema(ix)
    key = {r.model_id: r.key for r in ix.records("sr-x2")}
    names = list(family)
    for i, me in enumerate(names):
        rels = []
        for other in names[i + 1:]:
            near = TRUE_PARENTS.get(me) == other or TRUE_PARENTS.get(other) == me
            rels.append((key[other], _relation(me, other, 0.1 if near else 0.2, stats(QUALITY[me]),
                                               stats(QUALITY[other]))))
        graph.store_links(ix, key[me], 3, rels)
    return ix


def _parents(ix: LineageIndex, **kw) -> dict[str, str]:
    graph.recompute_parents(ix, "sr-x2", **kw)
    return graph.parents(ix, "sr-x2")


def test_the_stored_parents_point_away_from_the_family_anchor(stored, family, monkeypatch):  # noqa: F811
    # the weights as the index reads them from its records' entry folders (these records have none)
    monkeypatch.setattr(graph, "record_state", lambda rec: family[rec.model_id], raising=False)
    assert _parents(stored) == TRUE_PARENTS  # the default: each component oriented away from its anchor


def test_the_pairwise_rule_stored_the_fine_tune_of_a_fine_tune_the_wrong_way(stored):
    assert _parents(stored, anchor=False).get("ft2") != "ft1"  # ft1 stored as derived from ft2


def test_both_sides_of_a_pair_read_the_same_and_the_tree_follows(stored, family):  # noqa: F811
    rels = graph.oriented_relations(stored, "sr-x2", states=lambda rec: family[rec.model_id])
    ids = {r.key: r.model_id for r in stored.records("sr-x2")}
    seen = {(ids[k], r.candidate): r.relation for k, mine in rels.items() for _, r in mine}
    assert seen[("ft2", "ft1")] == "derived" and seen[("ft1", "ft2")] == "parent"
    assert all(seen[(a, b)] == {"derived": "parent", "parent": "derived"}[seen[(b, a)]] for a, b in seen)
    assert "root restores the held-out photo best" in next(
        r for k, mine in rels.items() if ids[k] == "ft2" for _, r in mine if r.candidate == "ft1").direction_evidence[0]


def test_without_weights_the_pairwise_directions_stand(stored):
    assert _parents(stored, states=lambda rec: None) == _parents(stored, anchor=False)


def test_a_component_without_an_anchor_or_of_another_layout_keeps_its_directions(family):  # noqa: F811
    from srprint.lineage.orient import by_component

    st = {m: stats(QUALITY[m]) for m in family}
    rels = {"ft1": [_relation("ft1", "ft2", 0.1, st["ft1"], st["ft2"])],
            "ft2": [_relation("ft2", "ft1", 0.1, st["ft2"], st["ft1"])]}

    def dist(a: str, b: str) -> float:
        return float(sum(float(((family[a][k] - family[b][k]) ** 2).sum()) for k in family[a])) ** 0.5

    out = by_component(rels, st, dist, is_accepted=lambda r: True)
    assert out["ft2"][0].relation == "parent"  # the pair alone: the better restorer is its anchor (as pairwise)
    assert "ft2 restores the held-out photo best" in out["ft2"][0].direction_evidence[0]
    tie = {**st, "ft2": stats(QUALITY["ft1"] + 0.01)}
    assert by_component(rels, tie, dist, is_accepted=lambda r: True) == rels  # two best within the margin
    assert by_component(rels, st, lambda a, b: None, is_accepted=lambda r: True) == rels  # another layout
    assert by_component(rels, st, dist, is_accepted=lambda r: False) == rels  # not accepted: no component
