"""The anchor direction rule: a lookup's relatives oriented by their weight distance to the family's anchor.

The pairwise quality rule (:func:`srprint.lineage.relate.quality_side`) rests on one premise: the parent is a
converged model, which a short fine-tune moves off its optimum. That holds for a published root and its
fine-tunes, not for two fine-tunes: a fine-tune of a fine-tune (itself off the optimum) may restore the
held-out photo better than its parent, and the rule then turns the pair round.

So the premise is used once per lookup, where it holds. Among the suspect and its related models of one
layout, the **anchor** is the one that restores the held-out photo best, ahead of every other by
:data:`~srprint.lineage.relate.QUALITY_MARGIN_DB`, all of them trained models
(:data:`~srprint.lineage.relate.TRAINED_MARGIN_DB` above the trivial answer, as the pairwise rule asks: the
fine-tunes of an under-trained model improve on it): the converged model the
others were fine-tuned away from. Every fine-tune's change adds to its parent's (the weight distance grows
along a path of the family tree: ``relate.weight_distance``), so of two related models the one **nearer
the anchor in weights is the parent**; the anchor itself is everyone's ancestor. Two siblings are ordered
too (by their distance to the anchor); the sibling rule of :func:`srprint.lineage.relate.choose` passes
over them, as it does for the pairwise rules.

The storage grid and the share of exact zeros still decide first (a quantised or pruned copy is the
child whatever its distance); without an anchor (no trained model, two best within the margin, distances
not known) the pairwise rules stand.

One rule, two places: a lookup orients its accepted relatives (:func:`by_anchor`, the anchor chosen among
the suspect and them), and the index-time graph orients each connected component of its stored relations
(:func:`by_component`, the anchor chosen among the component's models: the family's best restorer), so the
stored parents (:func:`srprint.lineage.graph.recompute_parents`) and ``srprint lineage tree`` point away
from it too. Both go through :func:`away`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .familywise import find_root
from .relate import (
    QUALITY_MARGIN_DB,
    SUSPECT,
    TRAINED_MARGIN_DB,
    Distance,
    Relation,
    storage_direction,
)

ORIENTABLE = ("derived", "parent", "derived (direction unknown)", "shares a parent")


def anchor(members: dict[str, dict[str, Any]], *, lead_db: float = QUALITY_MARGIN_DB) -> tuple[str | None, str]:
    """The anchor of ``members`` (id -> :func:`~srprint.lineage.sketch.weight_stats` with the held-out
    statistics) and why; ``(None, why not)`` when one lacks the statistics, one is not a trained model
    (beats the trivial answer by less than :data:`~srprint.lineage.relate.TRAINED_MARGIN_DB`), or the two
    best are within ``lead_db`` (0: any lead; a tie is never an anchor)."""
    try:
        db = {k: float(s["heldout_db"]) for k, s in members.items()}
        trivial = {k: float(s["trivial_db"]) for k, s in members.items()}
    except (KeyError, TypeError, ValueError):
        return None, "no anchor: a related model has no held-out statistics"
    if len(db) < 2:
        return None, "no anchor: fewer than two models"
    ranked = sorted(db, key=db.__getitem__, reverse=True)
    best, second = ranked[0], ranked[1]
    gain, lead = min(db[k] - trivial[k] for k in db), db[best] - db[second]
    if not gain >= TRAINED_MARGIN_DB:  # as the pairwise rule: fine-tunes of an under-trained model improve
        return None, f"no anchor: a related model beats the trivial answer by only {gain:.2f} dB (not trained)"
    if not (lead >= lead_db and lead > 0):
        return None, f"no anchor: the two best restore the held-out photo within {lead_db} dB"
    name = "the suspect" if best == SUSPECT else best
    return best, (f"{name} restores the held-out photo best of the {len(db)} related models ({db[best]:.2f} dB, "
                  f"{lead:.2f} dB ahead): the converged model the others were fine-tuned away from")


def by_anchor(relations: list[Relation], suspect_stats: dict[str, Any], distance: Distance | None, *,
              lead_db: float = QUALITY_MARGIN_DB) -> list[Relation]:
    """``relations`` with the related ones re-oriented by the anchor rule (module docstring); the others, and
    all of them when there is no anchor, as they were. The anchor is chosen among the suspect and the
    relations given (give the accepted ones) whose weight distance to the suspect is known.

    Parameters
    ----------
    relations : list of Relation
        The suspect's relations; ``record["stats"]`` holds each candidate's index statistics.
    suspect_stats : dict
        The suspect's statistics.
    distance : callable or None
        ``distance(a, b)``: the weight distance of two models by id, the suspect being
        :data:`~srprint.lineage.relate.SUSPECT` (``relate.weight_distances``); None: nothing changes.
    lead_db : float
        The anchor's least lead over the second best (:func:`anchor`).

    Returns
    -------
    list of Relation
        In the order given; a re-oriented relation is a copy with the anchor rule's evidence.
    """
    if distance is None:
        return relations
    related = [r for r in relations if r.relation in ORIENTABLE and (r.record or {}).get("stats")
               and distance(SUSPECT, r.candidate) is not None]
    if not related:
        return relations
    members = {SUSPECT: suspect_stats} | {r.candidate: r.record["stats"] for r in related}
    top, why = anchor(members, lead_db=lead_db)
    if top is None:
        return relations
    orientable = {id(r) for r in related}
    return [away(r, SUSPECT, suspect_stats, top, why, distance) if id(r) in orientable else r for r in relations]


def away(r: Relation, me: str, my_stats: dict[str, Any], top: str, why: str, distance: Distance) -> Relation:
    """One relation of ``me`` to ``r.candidate`` oriented away from the anchor ``top`` (module docstring): the
    one nearer ``top`` in weights is the parent. Unchanged when a storage rule decides (a quantised or pruned
    copy is the child), or a distance is not known or the two are equally near.

    Parameters
    ----------
    r : Relation
        The relation as seen from ``me``; ``r.record["stats"]`` holds the candidate's statistics.
    me : str
        Its model's id in ``distance`` (:data:`~srprint.lineage.relate.SUSPECT` for a lookup's suspect).
    my_stats : dict
        ``me``'s statistics (for the storage rules).
    top : str
        The anchor's id (:func:`anchor`); ``why`` its evidence.
    why : str
        The anchor's evidence, first in the re-oriented relation's.
    distance : callable
        ``distance(a, b)``: the weight distance of two models by id.

    Returns
    -------
    Relation
        ``r``, or a copy with the anchor rule's relation and evidence.
    """
    if storage_direction(my_stats, r.record["stats"]) is not None:
        return r
    d_s = 0.0 if top == me else distance(me, top)
    d_x = 0.0 if r.candidate == top else distance(r.candidate, top)
    if d_s is None or d_x is None or d_s == d_x:
        return r
    nearer = ("the suspect" if me == SUSPECT else me) if d_s < d_x else (
        "the indexed model" if me == SUSPECT else r.candidate)
    ev = [why, f"{nearer} is nearer to it in weights ({d_s:.4g} vs {d_x:.4g}): the parent (a fine-tune's "
               f"change adds to its parent's)"]
    return replace(r, relation="derived" if d_s > d_x else "parent", direction_evidence=ev)


def by_component(relations: dict[str, list[Relation]], stats: dict[str, dict[str, Any]], distance: Distance, *,
                 is_accepted: Callable[[Relation], bool], lead_db: float = QUALITY_MARGIN_DB
                 ) -> dict[str, list[Relation]]:
    """A population's relations (the index-time graph) re-oriented away from each family's anchor: the rule
    of :func:`by_anchor`, with the anchor chosen once per connected component instead of per lookup.

    The components join the models by their accepted relations in :data:`ORIENTABLE` whose weight distance is
    known (one layout); each component's anchor is :func:`anchor` of all its models, and every orientable
    relation between two of its models is oriented by :func:`away`, so a pair reads the same from both sides.
    A component without an anchor keeps the pairwise rules.

    Parameters
    ----------
    relations : dict
        ``{model id: its relations as seen from it}`` (``Relation.candidate``: the other model's id).
    stats : dict
        ``{model id: its index statistics}`` (held-out quality, storage grid, zeros).
    distance : callable
        ``distance(a, b)``: the weight distance of two models by id (None if not known).
    is_accepted : callable
        Whether a relation joins a component (e.g. its family-wise error rate is below the level).
    lead_db : float
        The anchor's least lead over the second best (:func:`anchor`).

    Returns
    -------
    dict
        ``relations`` with the same keys and order; a re-oriented relation is a copy with the anchor
        rule's evidence.
    """
    root = {m: m for m in relations}

    def find(a: str) -> str:
        return find_root(root, a)

    for me, rels in relations.items():
        for r in rels:
            if (r.candidate in root and r.relation in ORIENTABLE and is_accepted(r) and me in stats
                    and r.candidate in stats and distance(me, r.candidate) is not None):
                root[find(me)] = find(r.candidate)
    comps: dict[str, list[str]] = {}
    for m in relations:
        comps.setdefault(find(m), []).append(m)
    tops = {c: anchor({m: stats[m] for m in ms}, lead_db=lead_db) for c, ms in comps.items() if len(ms) > 1}
    out = {}
    for me, rels in relations.items():
        top, why = tops.get(find(me), (None, ""))
        out[me] = [away(r, me, stats[me], top, why, distance)
                   if top is not None and r.relation in ORIENTABLE and r.candidate in root
                   and find(r.candidate) == find(me) else r for r in rels]
    return out
