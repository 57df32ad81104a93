"""srprint.lineage.orient: the anchor direction rule on a tiny family (root -> ft1 -> ft2, root -> sib)."""

from __future__ import annotations

import pytest
import torch

from srprint.lineage.orient import anchor, by_anchor
from srprint.lineage.relate import SUSPECT, Relation, choose, direction, weight_distances

TRIVIAL = 25.0


def stats(db: float, **kw: object) -> dict[str, object]:
    return {"trivial_db": TRIVIAL, "heldout_db": db, **kw}


def finetuned(state: dict[str, torch.Tensor], seed: int, step: float = 0.01) -> dict[str, torch.Tensor]:
    """``state`` moved as a short Adam fine-tune moves it: every weight by about ``step``, signs at random."""
    g = torch.Generator().manual_seed(seed)
    return {k: v + step * torch.sign(torch.randn(v.shape, generator=g)) for k, v in state.items()}


@pytest.fixture(scope="module")
def family() -> dict[str, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    root = {"head.weight": torch.randn(8, 3, 3, 3, generator=g), "body.weight": torch.randn(8, 8, 3, 3, generator=g)}
    ft1 = finetuned(root, 1)
    return {"root": root, "ft1": ft1, "ft2": finetuned(ft1, 2), "sib": finetuned(root, 3)}


# held-out quality as the benchmark measured it: the root best, a fine-tune of a fine-tune better than its parent
QUALITY = {"root": 28.10, "ft1": 27.80, "ft2": 27.90, "sib": 27.85}


def lookup(family: dict[str, dict[str, torch.Tensor]], me: str) -> tuple[list[Relation], object]:
    """``me``'s relations to the rest of the family, oriented by the pairwise rules, every one confirmed."""
    rels = []
    for other in family:
        if other != me:
            side, ev = direction(stats(QUALITY[me]), stats(QUALITY[other]))
            rel = {1: "derived", -1: "parent", 0: "derived (direction unknown)"}[side]
            rels.append(Relation(other, rel, "copy", 1e-5, 40.0, 0.1, [], ev,
                                 record={"stats": stats(QUALITY[other])}))
    distance = weight_distances(lambda mid: family[me if mid == SUSPECT else mid])
    return rels, distance


def test_a_finetune_of_a_finetune_is_derived_from_its_parent_though_it_restores_better(family):
    rels, distance = lookup(family, "ft2")
    old = choose(rels, distance=distance)
    assert (old.relation, old.candidate) == ("parent", "ft1")  # the pairwise quality rule turns the pair round
    new = by_anchor(rels, stats(QUALITY["ft2"]), distance)
    best = choose(new, distance=distance)
    assert (best.relation, best.candidate) == ("derived", "ft1")
    assert "root restores the held-out photo best" in best.direction_evidence[0]
    assert [r.relation for r in new if r.candidate == "root"] == ["derived"]


@pytest.mark.parametrize("me, parent", [("ft1", "root"), ("sib", "root")])
def test_a_first_generation_finetune_names_the_root(family, me, parent):
    rels, distance = lookup(family, me)
    best = choose(by_anchor(rels, stats(QUALITY[me]), distance), distance=distance)
    assert (best.relation, best.candidate) == ("derived", parent)


def test_the_root_is_the_anchor_and_the_parent_of_its_relatives(family):
    rels, distance = lookup(family, "root")
    new = by_anchor(rels, stats(QUALITY["root"]), distance)
    assert {r.relation for r in new} == {"parent"}
    assert choose(new, distance=distance).candidate in ("ft1", "sib")


def test_no_anchor_leaves_the_pairwise_rules():
    assert anchor({"a": stats(28.0), "b": stats(28.005)})[0] is None  # two best within the margin
    assert anchor({"a": {"trivial_db": 25.0, "heldout_db": 25.2}, "b": stats(24.0)})[0] is None  # not trained
    assert anchor({"a": stats(28.0), "b": {}})[0] is None  # an index without the statistics
    # an under-trained root (0.3 dB over bicubic) whose fine-tune became a trained model: its fine-tunes improve
    assert anchor({"root": {"trivial_db": 25.0, "heldout_db": 25.3}, "ft": stats(25.6)})[0] is None
    assert anchor({"root": stats(28.1), "ft": stats(27.8)})[0] == "root"
    rels = [Relation("x", "parent", "copy", 1e-5, 40.0, 0.1, record={"stats": stats(28.0)})]
    assert by_anchor(rels, stats(28.005), lambda a, b: 1.0) == rels
    assert by_anchor(rels, stats(29.0), None) == rels  # distances not known (another layout)


def test_the_storage_grid_still_decides_first(family):
    rels, distance = lookup(family, "ft1")
    rels = [Relation("root", "parent", "copy", 1e-5, 40.0, 0.1, ["fp16 cast (the indexed model)"],
                     ["fp16 cast (the indexed model): the coarser storage grid is the copy's"],
                     record={"stats": stats(QUALITY["root"], fp16=True)})] + [r for r in rels if r.candidate != "root"]
    new = by_anchor(rels, stats(QUALITY["ft1"]), distance)
    assert new[0] is rels[0]


def test_a_lookup_orients_its_answer_by_the_anchor_rule(population, tmp_path, monkeypatch):
    from srprint.lineage import query
    from srprint.lineage.build import index_models

    calls = []

    def spy(relations, suspect_stats, distance):
        calls.append([r.candidate for r in relations])
        return [Relation(r.candidate, "parent", r.verdict, r.p_value, r.function_db, r.sketch_distance,
                         fwer=r.fwer, record=r.record, distance=r.distance) for r in relations]

    monkeypatch.setattr(query, "by_anchor", spy)
    d = tmp_path / "ix"
    index_models([population["r2"].path, population["r3"].path], d)
    res = query.query_file(population["finetune"].path, d)
    assert calls and "EDSR-tiny-x2-r2" in calls[-1]
    assert (res["answer"], res["match"]) == ("parent", "EDSR-tiny-x2-r2")  # the oriented relation is the answer
