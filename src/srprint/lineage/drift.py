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
distance among the family, its component along that axis, when the axis holds at least :data:`DRIFT_SHARE` of the
family's variance (a shared direction; without one the first axis is one member's own change and is kept).

The axis also orders the family: :func:`along_drift` orients a lookup's relatives by their position on it, the
earlier the parent, the axis pointing the way the held-out quality rises (:func:`orientation`). It overrides the
anchor rule (``orient.py``), whose premise (the root is a converged model that a fine-tune moves off its optimum) is
what a shared drift contradicts: every fine-tune descends the same slope from the root. The storage rules still
decide first (a quantised or pruned copy is the child).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .orient import ORIENTABLE
from .relate import SUSPECT, Distance, Relation, storage_direction

# the first axis's least share of the family's variance for a shared drift: set on the dev families of
# bench/lineage_dev_drift.py (tiny x2 families with a drift 0.70-0.80; IMDN, RLFN, SRGAN without 0.53-0.63)
DRIFT_SHARE = 0.65


def drift_removed(distance: Distance, ids: Sequence[str], *, share: float = DRIFT_SHARE
                  ) -> tuple[Distance, dict[str, Any]]:
    """``distance`` with the family's shared drift removed among ``ids``.

    Parameters
    ----------
    distance : callable
        ``distance(a, b)``: the weight distance of two models by id (None when not comparable).
    ids : sequence of str
        The family: the suspect and its relatives of one kernel layout. Ids whose distances to the others are
        not all known are left out of it.
    share : float
        The first axis's least share of the family's variance for it to be removed.

    Returns
    -------
    (callable, dict)
        The distance (the given one for any pair not both in the family, or when nothing is removed), and what
        was found: ``members``, ``share`` (the first axis's share of the variance; None with under 3 members)
        and ``removed``.
    """
    import numpy as np

    members: list[str] = []
    for x in dict.fromkeys(ids):
        if all(distance(x, y) is not None for y in members):
            members.append(x)
    info: dict[str, Any] = {"members": members, "share": None, "removed": False}
    n = len(members)
    if n < 3:
        return distance, info
    d2 = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d2[i, j] = d2[j, i] = float(distance(members[i], members[j])) ** 2  # type: ignore[arg-type]
    centre = np.eye(n) - 1.0 / n
    gram = -0.5 * centre @ d2 @ centre
    vals, vecs = np.linalg.eigh(gram)
    positive = vals[vals > 0]
    if positive.size == 0:
        return distance, info
    info["share"] = round(float(vals[-1] / positive.sum()), 4)
    if info["share"] < share:
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
        removed, or as given), and :func:`drift_removed`'s findings.
    """
    if distance is None:
        return relations, distance, {"members": [], "share": None, "removed": False}
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
    out = []
    for r in relations:
        if (r.relation not in ORIENTABLE or r.candidate not in pos or pos[r.candidate] == pos[SUSPECT]
                or storage_direction(suspect_stats, (r.record or {}).get("stats") or {}) is not None):
            out.append(r)
            continue
        later = pos[SUSPECT] > pos[r.candidate]
        ev = [f"{'the indexed model' if later else 'the suspect'} lies earlier on the shared direction of the "
              f"family's fine-tunes ({pos[SUSPECT]:.4g} vs {pos[r.candidate]:.4g}; it holds {info['share']:.0%} "
              "of the family's variance): the parent (every fine-tune moves further along it)"]
        out.append(replace(r, relation="derived" if later else "parent", direction_evidence=ev))
    return out, removed, info
