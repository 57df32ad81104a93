"""The shared drift of a family's fine-tunes, removed from its weight distances.

Fine-tunes of one model move its weights in a shared direction: each starts a fresh optimiser (Adam's first steps
move every weight by about the learning rate, in the sign of a gradient that depends little on the photos), so two
fine-tunes of one root have displacements with a cosine of 0.6-0.8 in the tiny x2 families of
``bench/results/lineage_dev_drift.md`` (about 0.05 in IMDN and RLFN). The family then lies near a line: a
fine-tune of a fine-tune lies *beyond* its parent, a sibling trained at a higher learning rate looks like a
grandchild, and the root is the member farthest from the others. What is left after removing that line is the
part of each change that is the model's own, which adds along the family's tree.

:func:`drift_removed` finds the line from the pairwise distances alone (classical multidimensional scaling: the
first principal axis of the family's weights, from its double-centred squared distances) and removes, from every
distance among the family, its component along that axis, when the family has a drift: some member lies between
two others at an angle of at least 114 degrees (cosine :data:`DRIFT_COS`). Fine-tuning steps that share no
direction meet at about 90 degrees (a fine-tune's change is orthogonal to its parent's, and to a sibling's), so
an angle that obtuse means the steps go the same way. (The first axis's share of the variance, measured first,
does not tell: a chain of three orthogonal steps already puts 0.75 of it on one axis; with five members, 16 of 36
subsets of families without a drift reached 0.65.)

The axis also orders the family: :func:`along_drift` orients a lookup's relatives by their position on it, the
earlier the parent, the axis pointing the way the held-out quality rises (:func:`orientation`). It overrides the
anchor rule (``orient.py``), whose premise (the root is a converged model that a fine-tune moves off its optimum) is
what a shared drift contradicts: every fine-tune descends the same slope from the root. The storage rules still
decide first (a quantised or pruned copy is the child).

On the line, the root is the member *farthest* from its late fine-tunes, so a lookup that confirms the nearest in
weights may never reach it: :func:`upstream` names the records to confirm next, those nearest in weights to the
family's earliest member found so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .familywise import layout
from .orient import ORIENTABLE
from .relate import SUSPECT, Distance, Relation, storage_direction

# a drift: the family's most obtuse angle has a cosine at most this (114 degrees). Set on the dev families of
# bench/lineage_dev_drift.py: every subset of 4-6 members of the six x2 families without a clear drift stays above
# -0.30 (their whole families -0.30 to 0.04); the four with one reach -0.56 to -0.81 as whole families
DRIFT_COS = -0.4


def most_obtuse(d2: Any) -> float:
    """The cosine of the most obtuse angle ``a-b-c`` among points with squared distances ``d2`` (1 with none)."""
    import numpy as np

    d = np.sqrt(d2)
    best = 1.0
    n = len(d2)
    for b in range(n):
        for a in range(n):
            for c in range(a + 1, n):
                if b in (a, c) or d[a, b] == 0 or d[b, c] == 0:
                    continue
                best = min(best, float((d2[a, b] + d2[b, c] - d2[a, c]) / (2 * d[a, b] * d[b, c])))
    return best


def drift_removed(distance: Distance, ids: Sequence[str], *, cos: float = DRIFT_COS
                  ) -> tuple[Distance, dict[str, Any]]:
    """``distance`` with the family's shared drift removed among ``ids``.

    Parameters
    ----------
    distance : callable
        ``distance(a, b)``: the weight distance of two models by id (None when not comparable).
    ids : sequence of str
        The family: the suspect and its relatives of one kernel layout. Ids whose distances to the others are
        not all known are left out of it.
    cos : float
        The cosine of the family's most obtuse angle at or under which it has a drift.

    Returns
    -------
    (callable, dict)
        The distance (the given one for any pair not both in the family, or when nothing is removed), and what
        was found: ``members``, ``obtuse_cos`` (the cosine of its most obtuse angle), ``share`` (the first
        axis's share of the variance; both None with under 3 members), ``removed`` and, when removed,
        ``positions`` on the axis (their sign arbitrary).
    """
    import numpy as np

    members: list[str] = []
    for x in dict.fromkeys(ids):
        if all(distance(x, y) is not None for y in members):
            members.append(x)
    info: dict[str, Any] = {"members": members, "obtuse_cos": None, "share": None, "removed": False}
    n = len(members)
    if n < 3:
        return distance, info
    d2 = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d2[i, j] = d2[j, i] = float(distance(members[i], members[j])) ** 2  # type: ignore[arg-type]
    info["obtuse_cos"] = round(most_obtuse(d2), 4)
    centre = np.eye(n) - 1.0 / n
    gram = -0.5 * centre @ d2 @ centre
    vals, vecs = np.linalg.eigh(gram)
    positive = vals[vals > 0]
    if positive.size == 0:
        return distance, info
    info["share"] = round(float(vals[-1] / positive.sum()), 4)
    if not info["obtuse_cos"] <= cos:
        return distance, info
    info["removed"] = True
    t = dict(zip(members, (np.sqrt(vals[-1]) * vecs[:, -1]).tolist(), strict=True))  # positions (sign arbitrary)
    info["positions"] = {k: round(v, 6) for k, v in t.items()}

    def removed(a: str, b: str) -> float | None:
        d = distance(a, b)
        if d is None or a not in t or b not in t:
            return d
        return float(max(d * d - (t[a] - t[b]) ** 2, 0.0) ** 0.5)

    return removed, info


def orientation(positions: dict[str, float], quality: dict[str, Any]) -> int:
    """+1 or -1: the sign that makes the held-out quality rise along the axis (Spearman's rank correlation of
    ``positions`` and ``quality``, the members with both); 0 with under 3 of them or no correlation. A shared
    drift is the common slope of the fine-tunes' objective, which they descend away from the root (on the dev
    families of ``bench/lineage_dev_drift.py`` each fine-tune restored the held-out photo better than the root)."""
    from scipy.stats import spearmanr

    both = [k for k in positions if isinstance(quality.get(k), int | float)]
    if len(both) < 3:
        return 0
    rho = spearmanr([positions[k] for k in both], [float(quality[k]) for k in both]).statistic
    return 0 if not rho or rho != rho else (1 if rho > 0 else -1)


def along_drift(relations: list[Relation], suspect_stats: dict[str, Any], distance: Distance | None
                ) -> tuple[list[Relation], Distance | None, dict[str, Any]]:
    """A lookup's relations oriented along its family's shared drift, and the distance with the drift removed.

    Parameters
    ----------
    relations : list of Relation
        The suspect's accepted relations (``record["stats"]``: each candidate's statistics, for the storage rules).
    suspect_stats : dict
        The suspect's statistics.
    distance : callable or None
        ``distance(a, b)``: the weight distance of two models by id, the suspect being
        :data:`~srprint.lineage.relate.SUSPECT` (``relate.weight_distances``).

    Returns
    -------
    (list of Relation, callable or None, dict)
        The relations (in the order given; the related ones of the suspect's layout re-oriented when a drift
        was found), the distance for :func:`~srprint.lineage.relate.choose` (``distance`` with the drift
        removed, or as given), and :func:`drift_removed`'s findings, with ``orientation`` and, when oriented,
        ``oriented``: the positions earlier first (``choose``'s ``positions``).
    """
    if distance is None:
        return relations, distance, {"members": [], "obtuse_cos": None, "share": None, "removed": False}
    family = [SUSPECT] + [r.candidate for r in relations
                          if r.relation in ORIENTABLE and distance(SUSPECT, r.candidate) is not None]
    removed, info = drift_removed(distance, family)
    if not info["removed"]:
        return relations, distance, info
    quality = {SUSPECT: suspect_stats.get("heldout_db")} | {
        r.candidate: ((r.record or {}).get("stats") or {}).get("heldout_db") for r in relations}
    sign = orientation(info["positions"], quality)
    info["orientation"] = sign
    if not sign:
        return relations, removed, info
    pos = {k: sign * v for k, v in info["positions"].items()}
    info["oriented"] = pos
    out = []
    for r in relations:
        if (r.relation not in ORIENTABLE or r.candidate not in pos or pos[r.candidate] == pos[SUSPECT]
                or storage_direction(suspect_stats, (r.record or {}).get("stats") or {}) is not None):
            out.append(r)
            continue
        later = pos[SUSPECT] > pos[r.candidate]
        ev = [f"{'the indexed model' if later else 'the suspect'} lies earlier on the shared direction of the "
              f"family's fine-tunes ({pos[SUSPECT]:.4g} vs {pos[r.candidate]:.4g}; the family's steps meet at up to "
              f"{math.degrees(math.acos(info['obtuse_cos'])):.0f} degrees): the parent (every fine-tune moves further "
              "along it)"]
        out.append(replace(r, relation="derived" if later else "parent", direction_evidence=ev))
    return out, removed, info


def upstream(accepted: list[Relation], pool: Sequence[Any], suspect_stats: dict[str, Any],
             distance: Distance | None, *, exclude: set[str], n: int) -> list[Any]:
    """The records to confirm upstream of a family with a shared drift: up to ``n`` records of ``pool`` with the
    suspect's kernel layout, not in ``exclude`` nor the family, nearest in weights to the family's earliest
    member (:func:`along_drift`'s oriented positions; the suspect itself when it is the earliest).

    Parameters
    ----------
    accepted : list of Relation
        The suspect's accepted relations so far.
    pool : sequence
        Candidate records (with ``model_id`` and ``stats``), e.g. the suspect's nearest sketches.
    suspect_stats : dict
        The suspect's statistics.
    distance : callable or None
        The weight distance by id, the suspect being :data:`~srprint.lineage.relate.SUSPECT`.
    exclude : set of str
        Ids already confirmed or left out.
    n : int
        How many at most.

    Returns
    -------
    list
        Records of ``pool``, nearest first; empty without an oriented drift.
    """
    if distance is None or n < 1:
        return []
    pos = along_drift(accepted, suspect_stats, distance)[2].get("oriented")
    if not pos:
        return []
    first = min(pos, key=lambda k: (pos[k], k))
    mine = layout(suspect_stats)
    near = []
    for rec in pool:
        if rec.model_id in exclude or rec.model_id in pos or layout(rec.stats) != mine:
            continue
        d = distance(first, rec.model_id)
        if d is not None:
            near.append((d, rec.model_id, rec))
    return [rec for _, _, rec in sorted(near, key=lambda t: (t[0], t[1]))[:n]]
