"""The family drift (``srprint.lineage.drift``): found from distances alone, removed, and ordering the family."""

from __future__ import annotations

import numpy as np
import pytest

from srprint.lineage.drift import along_drift, drift_removed
from srprint.lineage.relate import SUSPECT, Relation, choose


def family(drift: float, seed: int = 0) -> dict[str, np.ndarray]:
    """A root and five fine-tunes (the lineage benchmark's recipe), each step ``drift`` along one shared direction
    plus its own change; ``sib2`` takes three steps' drift (3x the learning rate) with one step's own change. The
    last entry of each vector stands for its held-out quality, which rises along the drift (see ``quality``)."""
    rng = np.random.default_rng(seed)
    dim = 400
    c = rng.standard_normal(dim)
    c /= np.linalg.norm(c)

    def step(x: np.ndarray, k: float = 1.0) -> np.ndarray:
        return x + k * drift * c + 0.1 * rng.standard_normal(dim) / np.sqrt(dim)

    root = np.zeros(dim)
    ft1 = step(root)
    sib = step(root)
    w = {"root": root, "ft1": ft1, "ft2": step(ft1), "sib": sib, "sib2": step(root, 3.0), "sibft": step(sib)}
    QUALITY.update({k: {"heldout_db": 30.0 + float(v @ c)} for k, v in w.items()})
    return w


QUALITY: dict[str, dict[str, float]] = {}


def distance_over(w: dict[str, np.ndarray], me: str):
    def distance(a: str, b: str) -> float | None:
        a, b = (me if x == SUSPECT else x for x in (a, b))
        return float(np.linalg.norm(w[a] - w[b]))
    return distance


def relations(w: dict[str, np.ndarray], me: str, kind: str = "derived (direction unknown)", *,
              quality: bool = True) -> list[Relation]:
    return [Relation(x, kind, "copy", 1e-5, 40.0, 0.1, [], [], record={"stats": QUALITY[x] if quality else {}})
            for x in w if x != me]


def test_a_shared_drift_is_found_removed_and_orders_the_family() -> None:
    w = family(drift=0.3)
    d = distance_over(w, "sib2")
    plain_nearest = min((x for x in w if x != "sib2"), key=lambda x: d(SUSPECT, x))
    assert plain_nearest != "root"  # on the line, a sibling at 3x the learning rate looks like a grandchild
    rels, removed, info = along_drift(relations(w, "sib2"), QUALITY["sib2"], d)
    assert info["removed"] and info["obtuse_cos"] <= -0.4 and info["orientation"] in (1, -1)
    pos = {k: info["orientation"] * v for k, v in info["positions"].items()}
    assert min(pos, key=pos.get) == "root" and max(pos, key=pos.get) == SUSPECT
    assert all(r.relation == "derived" for r in rels)  # everything else lies earlier on the axis
    best = choose(rels, distance=removed)
    assert best is not None and (best.candidate, best.relation) == ("root", "derived")


@pytest.mark.parametrize(("me", "parent"), [("ft2", "ft1"), ("sibft", "sib"), ("ft1", "root")])
def test_the_drift_removed_choice_names_the_parent(me: str, parent: str) -> None:
    w = family(drift=0.3, seed=1)
    rels, removed, info = along_drift(relations(w, me), QUALITY[me], distance_over(w, me))
    assert info["removed"]
    best = choose(rels, distance=removed)
    assert best is not None and (best.candidate, best.relation) == (parent, "derived")


def test_without_held_out_quality_the_drift_is_removed_but_orients_nothing() -> None:
    w = family(drift=0.3)
    rels = relations(w, "ft2", quality=False)
    out, dist, info = along_drift(rels, {}, distance_over(w, "ft2"))
    assert info["removed"] and info["orientation"] == 0
    assert out == rels and dist is not None and dist(SUSPECT, "root") < distance_over(w, "ft2")(SUSPECT, "root")


def test_without_a_shared_drift_nothing_changes() -> None:
    w = family(drift=0.0)
    d = distance_over(w, "ft2")
    rels = relations(w, "ft2")
    out, dist, info = along_drift(rels, {}, d)
    assert not info["removed"] and info["obtuse_cos"] > -0.4
    assert dist is d and out == rels


def test_a_family_under_three_members_or_without_distances_is_left_alone() -> None:
    w = family(drift=0.3)
    d = distance_over(w, "ft1")
    same, info = drift_removed(d, ["root", SUSPECT])
    assert same is d and info["obtuse_cos"] is None
    rels = relations(w, "ft1")
    assert along_drift(rels, {}, None)[0] is rels
    # a member whose distances are not known (another layout) is left out of the family
    dist, info = drift_removed(lambda a, b: None if "x" in (a, b) else d(a, b), [SUSPECT, "root", "x", "ft2", "sib"])
    assert "x" not in info["members"] and len(info["members"]) == 4


def test_upstream_reaches_the_root_that_the_nearest_in_weights_miss() -> None:
    from types import SimpleNamespace

    from srprint.lineage.drift import upstream

    w = family(drift=0.3)
    d = distance_over(w, "sib2")
    nearest3 = sorted((x for x in w if x != "sib2"), key=lambda x: d(SUSPECT, x))[:3]
    assert "root" not in nearest3
    confirmed = [r for r in relations(w, "sib2") if r.candidate in nearest3]
    pool = [SimpleNamespace(model_id=x, stats={}) for x in w if x != "sib2"]
    ups = upstream(confirmed, pool, QUALITY["sib2"], d, exclude=set(nearest3), n=2)
    assert "root" in [r.model_id for r in ups] and not set(nearest3) & {r.model_id for r in ups}
    # no drift, or no quality to orient it: nothing upstream
    flat = family(drift=0.0)
    assert upstream(relations(flat, "sib2")[:3], pool, QUALITY["sib2"], distance_over(flat, "sib2"),
                    exclude=set(), n=2) == []
    assert upstream(relations(w, "sib2", quality=False), pool, {}, d, exclude=set(), n=2) == []


def test_the_index_time_parents_are_chosen_as_a_lookup_chooses() -> None:
    from types import SimpleNamespace

    from srprint.lineage.graph import parents_from

    w = family(drift=0.3, seed=2)
    names = list(w)
    key = {x: i for i, x in enumerate(names)}
    records = {key[x]: SimpleNamespace(model_id=x, stats=QUALITY[x]) for x in names}
    rels = {key[me]: [(key[r.candidate], r) for r in relations(w, me)] for me in names}

    def plain(a: str, b: str) -> float:
        return float(np.linalg.norm(w[a] - w[b]))

    got = {names[c]: names[p] for c, (p, _) in parents_from(rels, distance=plain, records=records).items()}
    assert got == {"ft1": "root", "ft2": "ft1", "sib": "root", "sib2": "root", "sibft": "sib"}
    # without the distances nothing is oriented: every relation is of unknown direction, so no parent is named
    assert parents_from(rels) == {}


def test_a_relative_later_on_the_drift_than_both_does_not_pass_one_over() -> None:
    # the suspect (a fine-tune of the root) and its root; a sibling at 3x the learning rate lies far along the drift,
    # and once the drift is removed it is near everything: it must not pass the root over
    d = {frozenset((SUSPECT, "root")): 1.0, frozenset((SUSPECT, "sib2")): 0.9, frozenset(("root", "sib2")): 0.8}

    def distance(a: str, b: str) -> float:
        return d[frozenset((a, b))]

    rels = [Relation("root", "derived", "copy", 1e-5, 40.0, 0.1), Relation("sib2", "parent", "copy", 1e-5, 40.0, 0.1)]
    plain = choose(rels, distance=distance)  # the plain sibling rule passes the root over
    assert plain is not None and (plain.candidate, plain.relation) == ("sib2", "parent")
    best = choose(rels, distance=distance, positions={"root": 0.0, SUSPECT: 1.0, "sib2": 3.0})
    assert best is not None and (best.candidate, best.relation) == ("root", "derived")


def test_along_a_drift_an_earlier_sibling_does_not_make_the_root_a_grandparent() -> None:
    # the root's stored child ``sib`` lies earlier on the drift than the suspect (a sibling at 3x the learning
    # rate) and is closer in the lineage statistic: the stored graph alone would call the root a grandparent
    d = {frozenset((SUSPECT, "root")): 0.10, frozenset((SUSPECT, "sib")): 0.13, frozenset(("root", "sib")): 0.2}

    def distance(a: str, b: str) -> float:
        return d[frozenset((a, b))]

    rels = [Relation("root", "derived", "copy", 1e-5, 40.0, 0.1, distance=0.3),
            Relation("sib", "derived", "copy", 1e-5, 40.0, 0.1, distance=0.1)]
    stored = {"sib": "root"}
    assert choose(rels, parent_of=stored, distance=distance).candidate == "sib"
    best = choose(rels, parent_of=stored, distance=distance, positions={"root": 0.0, "sib": 0.5, SUSPECT: 2.0})
    assert best is not None and best.candidate == "root"
