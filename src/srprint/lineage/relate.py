"""How a suspect relates to one indexed candidate: same model, derived (which way), shared parent, unrelated.

The candidate is confirmed by the ownership verdict (:func:`srprint.verification.ownership.verify_models`:
re-parameterisation-invariant lineage, with its calibrated p-value) and by the function distance on the
sketch probes (:func:`srprint.lineage.sketch.function_psnr`). Then:

* **same model** (a re-upload): the verdict is *copy* and the two compute the same function (the
  verdict's function stage says *same*, or they agree to :data:`SAME_FUNCTION_DB`; whatever the weights
  look like), or the two are related (*copy* or *shared parent*: rounding every weight to 8 bits moves
  the lineage statistic past the copy band) and one side holds a storage grid (fp16, int8) the other
  lacks (an fp16 cast does not always keep the function: FMEN's moves it to 42 dB);
* **derived** (or its reverse, **parent**): the verdict is *copy* or *shared parent* and
  :func:`direction` orders the pair (the coarser storage grid, the larger share of exact zeros, the
  held-out quality of two trained models, the weight-kurtosis rule, then the declared provenance as a
  tie-breaker), with its evidence; a *copy* it cannot order is *derived (direction unknown)*;
* **shares a parent**: the verdict is *shared parent* and nothing orders the pair;
* **unrelated**: anything else.

Which related model is *the parent* is a population question, answered by :func:`choose`: among the
confirmed relatives, the closest one (lineage distance ``1 - S``) of those the suspect derives from. In a
chain root - ft1 - ft2, ft2 derives from both ft1 and the root, and ft1 is the closer; a sibling derives
from the root, not from another sibling.

The quality rule (:func:`quality_side`): a short fine-tune of a converged model on other photos moves it
off the minimum it was trained to, so it restores a held-out photo worse than its parent; it orders
only pairs of *trained* models (both beat the trivial answer by :data:`TRAINED_MARGIN_DB`: a model
fine-tuned from a random or under-trained start improves instead) that differ by
:data:`QUALITY_MARGIN_DB`. It is a regularity of how models are fine-tuned, not a law: a fine-tune that
trains a model further on better data reverses it (``bench/results/lineage.md`` measures it), and so does a
fine-tune of a fine-tune (its parent is off the optimum already): a lookup orients its accepted relatives
again by the anchor rule (:mod:`srprint.lineage.orient`), which applies the premise to the best model only.

The family-wise error rates over the index that :func:`accepted` reads are computed in
:mod:`srprint.lineage.familywise`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# the ownership verdict's floor of "same function" (verification/functional.py: fp16 copies >= 70 dB,
# independent published pairs < 50 dB); exact re-parameterisations agree at > 120 dB
SAME_FUNCTION_DB = 60.0
INT8_LEVELS = 255  # a kernel with at most this many distinct values is on an 8-bit grid
ZERO_SHARE_STEP = 0.01  # a pruned model has at least this much more exact zeros than its parent
KURTOSIS_MARGIN = 0.2  # the kurtosis vote decides only beyond 0.5 +- this (else: direction not known)
# the quality rule (module docstring). Set while looking at the first benchmark population (6 published x4
# roots, their 18 fine-tunes: parent - child gaps of 0.03-0.55 dB on the held-out photo; the one family
# where the fine-tunes improved, OpenCV's FSRCNN, beats bicubic there by 0.05 dB, the others by >= 2 dB),
# validated on the roots added after it (bench/results/lineage.md, "fresh")
QUALITY_MARGIN_DB = 0.02
TRAINED_MARGIN_DB = 0.5


@dataclass
class Relation:
    """The relation of the suspect to one candidate, with its evidence."""

    candidate: str
    relation: str  # same model | derived | parent | shares a parent | unrelated
    verdict: str  # the ownership verdict
    p_value: float | None
    function_db: float
    sketch_distance: float
    edits: list[str] = field(default_factory=list)
    direction_evidence: list[str] = field(default_factory=list)
    explanation: str = ""
    fwer: float | None = None
    record: dict[str, Any] = field(default_factory=dict)
    distance: float | None = None  # lineage distance 1 - S of the verdict (None: decided by the function)
    seconds: float = 0.0  # the confirmation's time (loading the candidate, its outputs, the verdict)
    same_by: str = ""  # a same model by its "function", "storage grid" or "weights" (:func:`quantised_reupload`)
    # whether the verdict computed a null (function or lineage) rather than reading it back (None: not known):
    # a confirmation's time with stored nulls is what a registered candidate costs
    nulls_computed: bool | None = None

    def closeness(self) -> tuple[float, float]:
        """Sort key, closest first: the lineage distance, then the function distance."""
        d = self.distance if self.distance is not None else -1.0  # no distance: decided as the same function
        return (d, -min(self.function_db, 1e9))

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "relation": self.relation, "verdict": self.verdict,
                "p_value": self.p_value, "fwer": self.fwer, "function_db": self.function_db,
                "distance": self.distance, "seconds": self.seconds,
                "sketch_distance": self.sketch_distance, "edits": self.edits,
                "direction_evidence": self.direction_evidence, "explanation": self.explanation,
                "same_by": self.same_by, "nulls_computed": self.nulls_computed,
                "licence": self.record.get("licence"), "declared_parent": self.record.get("declared_parent"),
                "source_url": self.record.get("source_url")}

    @classmethod
    def from_dict(cls, d: dict[str, Any], **fields: Any) -> Relation:
        """The relation :meth:`to_dict` wrote; ``fields`` add what it does not hold (``record``) or override."""
        floats = {k: float(d.get(k) or 0.0) for k in ("function_db", "sketch_distance", "seconds")}
        lists = {k: list(d.get(k) or []) for k in ("edits", "direction_evidence")}
        return cls(**{"candidate": d["candidate"], "relation": d["relation"], "verdict": d["verdict"],
                      "p_value": d.get("p_value"), "fwer": d.get("fwer"), "distance": d.get("distance"), **floats,
                      **lists, "explanation": d.get("explanation") or "", "same_by": str(d.get("same_by") or ""),
                      "nulls_computed": d.get("nulls_computed"), **fields})


def _int8(stats: dict[str, Any]) -> bool:
    return 0 < int(stats.get("grid_levels", 0)) <= INT8_LEVELS


def storage_edits(sus: dict[str, Any], cand: dict[str, Any]) -> tuple[list[str], int]:
    """Storage differences between two models' :func:`~srprint.lineage.sketch.weight_stats`.

    Returns ``(edits, side)``: ``side`` is +1 when the suspect holds the coarser grid (it was made from
    the candidate), -1 for the reverse, 0 when neither differs.
    """
    if _int8(sus) and not _int8(cand):
        return ["int8 quantised"], 1
    if _int8(cand) and not _int8(sus):
        return ["int8 quantised (the indexed model)"], -1
    if sus.get("fp16") and not cand.get("fp16"):
        return ["fp16 cast"], 1
    if cand.get("fp16") and not sus.get("fp16"):
        return ["fp16 cast (the indexed model)"], -1
    return [], 0


def kurtosis_vote(sus: dict[str, Any], cand: dict[str, Any]) -> float | None:
    """Share of parameters (layer by layer) where the suspect's kernels are closer to Gaussian
    (smaller ``|excess kurtosis|``) than the candidate's; None if the layers do not line up.

    Fine-tuning adds many small, nearly independent updates to every weight, and the excess kurtosis
    of a sum of independent terms lies between theirs: the child is closer to Gaussian than its parent,
    whether the parent is heavy-tailed (trained) or light-tailed (uniform initialisation)."""
    a, b = sus.get("layers") or [], cand.get("layers") or []
    if not a or len(a) != len(b) or any(x[0] != y[0] for x, y in zip(a, b, strict=True)):
        return None
    num = sum(x[0] * (x[1] < y[1]) + 0.5 * x[0] * (x[1] == y[1]) for x, y in zip(a, b, strict=True))
    den = sum(x[0] for x in a)
    return num / den if den else None


def quality_side(sus: dict[str, Any], cand: dict[str, Any]) -> tuple[int, str] | None:
    """The quality rule (module docstring): +1 the suspect derives from the candidate (it restores the
    held-out photo worse), -1 the reverse, 0 too close or not two trained models; None without the
    statistics (an index built before they were recorded)."""
    try:
        qs, qc = float(sus["heldout_db"]), float(cand["heldout_db"])
        gain = min(qs - float(sus["trivial_db"]), qc - float(cand["trivial_db"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not gain >= TRAINED_MARGIN_DB:
        return 0, (f"held-out quality not compared: one of the two beats the trivial answer by only {gain:.2f} dB "
                   f"(not a trained model)")
    d = qs - qc
    if abs(d) < QUALITY_MARGIN_DB:
        return 0, f"held-out quality within {QUALITY_MARGIN_DB} dB ({d:+.3f} dB): too close to call"
    worse = "suspect" if d < 0 else "indexed model"
    return (1 if d < 0 else -1), (f"the {worse} restores the held-out photo {abs(d):.2f} dB worse "
                                  f"({qs:.2f} vs {qc:.2f} dB): a fine-tune moves a trained model off its optimum")


def storage_direction(sus: dict[str, Any], cand: dict[str, Any]) -> tuple[int, str] | None:
    """The two storage rules, which decide before any other (a quantised or pruned copy is the child whatever
    else holds): the coarser storage grid, then :data:`ZERO_SHARE_STEP` more exact zeros. ``(side, evidence)``
    as :func:`direction` gives it, or None when neither rule decides."""
    edits, side = storage_edits(sus, cand)
    if side:
        return side, f"{edits[0]}: the coarser storage grid is the copy's"
    dz = float(sus.get("zero_share", 0.0)) - float(cand.get("zero_share", 0.0))
    if abs(dz) >= ZERO_SHARE_STEP:
        who = "suspect" if dz > 0 else "indexed model"
        return (1 if dz > 0 else -1), f"the {who} has {abs(dz):.1%} more exactly-zero weights (pruned)"
    return None


def direction(sus: dict[str, Any], cand: dict[str, Any], *, sus_meta: dict[str, Any] | None = None,
              cand_meta: dict[str, Any] | None = None) -> tuple[int, list[str]]:
    """Which of two related models was made from the other: +1 the suspect from the candidate, -1 the
    reverse, 0 unknown; with the evidence, strongest rule first. ``sus_meta`` / ``cand_meta``: declared
    provenance (``source_url``, ``licence``), the last tie-breaker (a published import with its source is
    more likely the parent than a file without one)."""
    stored = storage_direction(sus, cand)
    if stored is not None:
        return stored[0], [stored[1]]
    evidence = []
    q = quality_side(sus, cand)
    if q is not None:
        if q[0]:
            return q[0], [q[1]]
        evidence.append(q[1])
    vote = kurtosis_vote(sus, cand)
    if vote is None:
        evidence.append("the layers do not line up for the weight-kurtosis rule")
    else:
        ev = f"{vote:.0%} of the parameters are closer to Gaussian in the suspect (weight-kurtosis rule)"
        if vote >= 0.5 + KURTOSIS_MARGIN:
            return 1, [*evidence, ev]
        if vote <= 0.5 - KURTOSIS_MARGIN:
            return -1, [*evidence, ev]
        evidence.append(ev + ": too close to call")
    src_s, src_c = bool((sus_meta or {}).get("source_url")), bool((cand_meta or {}).get("source_url"))
    if src_s != src_c:
        who = "indexed model" if src_c else "suspect"
        return (1 if src_c else -1), [*evidence, f"tie-breaker: only the {who} declares a source (a published "
                                                  f"import is more likely the parent than a file without one)"]
    return 0, evidence


def _p(verdict: Any) -> float | None:
    lin = verdict.lineage or {}
    if "p_value" in lin:
        return float(max(lin["p_value"], lin.get("p_bound", 0.0)))
    func = verdict.functional or {}
    return float(func["p_value"]) if func.get("p_value") is not None else None


def relate(suspect: Any, candidate: Any, *, record: dict[str, Any], suspect_stats: dict[str, Any],
           function_db: float, sketch_distance: float, load: Callable[[Any], Any],
           references: Iterable[Any] = (), suspect_meta: dict[str, Any] | None = None,
           cache: dict[Any, Any] | None = None) -> Relation:
    """Confirm one candidate (both zoo entries) and name the relation (module docstring). ``cache``:
    :func:`~srprint.verification.ownership.verify_models`'s memo, shared by the candidates of one query."""
    from ..verification.ownership import verify_models

    v = verify_models(candidate, suspect, load=load, references=references, cache=cache)
    cand_stats = record.get("stats") or {}
    edits, _ = storage_edits(suspect_stats, cand_stats)
    p = _p(v)
    rel, ev, same_by = "unrelated", [], ""
    same_function = (v.functional or {}).get("decision") == "same" or function_db >= SAME_FUNCTION_DB
    if v.verdict == "copy" and same_function:
        rel, same_by = "same model", "function"
        if suspect_stats.get("params") != cand_stats.get("params"):
            edits.append("re-parameterised (another layer layout, same function)")
        elif not edits and suspect_stats.get("sha256") != record.get("sha256"):
            edits.append("weights re-parameterised (e.g. channels permuted, mixed or rescaled; same function)")
    elif v.verdict in ("copy", "shared parent") and edits:
        rel, same_by = "same model", "storage grid"  # related; a grid one side lacks: quantised re-upload
    elif v.verdict in ("copy", "shared parent"):
        # MoTHer's logic: a parent and its child order consistently (storage grid, zeros, kurtosis); two
        # children of one parent do not, and neither does a pair the verdict finds only loosely related
        side, ev = direction(suspect_stats, cand_stats, sus_meta=suspect_meta, cand_meta=record)
        if side:
            rel = "derived" if side == 1 else "parent"
        else:
            rel = "derived (direction unknown)" if v.verdict == "copy" else "shares a parent"
    lin = v.lineage or {}
    dist = 1.0 - float(lin["similarity"]) if lin.get("similarity") is not None and "p_value" in lin else None
    flags = [stage.get("null_cached") for stage in (v.functional or {}, lin) if "null_cached" in stage]
    return Relation(candidate.id, rel, v.verdict, p, function_db, sketch_distance, edits, ev, v.explanation,
                    record=record, distance=dist, same_by=same_by,
                    nulls_computed=any(not f for f in flags) if flags else None)


def _ancestors(model_id: str, parent_of: dict[str, str]) -> set[str]:
    out: set[str] = set()
    while model_id in parent_of and parent_of[model_id] not in out:
        model_id = parent_of[model_id]
        out.add(model_id)
    return out


def _direct(hits: list[Relation], parent_of: dict[str, str], *, up: bool) -> list[Relation]:
    """``hits`` less the ones the stored graph puts a generation further: of the models the suspect
    derives from (``up``), those that are an ancestor of a closer one (a chain: the suspect is nearer its
    parent than its grandparent; an ancestor nearer than its descendant is more likely the parent of
    both); of the models derived from it, those that descend from another."""
    ids = {r.candidate for r in hits}
    if up:
        covered = {a for r in hits for a in _ancestors(r.candidate, parent_of)
                   if any(o.candidate == a and r.closeness() < o.closeness() for o in hits)}
        return [r for r in hits if r.candidate not in covered] or hits
    return [r for r in hits if not (_ancestors(r.candidate, parent_of) & (ids - {r.candidate}))] or hits


SUSPECT = "\x00suspect"  # the suspect's id in a sibling-rule ``distance(a, b)`` (no indexed id can be it)
Distance = Callable[[str, str], "float | None"]


def weight_distance(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """The Euclidean distance of two state dicts' floating-point tensors, or None when their layouts differ
    (other names or shapes: another architecture, or a re-parameterised copy, whose weights must be aligned
    first). A fine-tune keeps its parent's layout and channel order, and its change adds to its parent's:
    a fine-tune of a fine-tune is farther from the root than its parent, two fine-tunes of one parent are
    farther from each other than from it (``bench/results/lineage_dev.md``)."""
    import torch

    def floats(sd: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sd.items() if torch.is_tensor(v) and v.is_floating_point()}

    fa, fb = floats(a), floats(b)
    if not fa or fa.keys() != fb.keys() or any(fa[k].shape != fb[k].shape for k in fa):
        return None
    total = sum(float(((fa[k].float() - fb[k].float()) ** 2).sum()) for k in fa)
    return total ** 0.5


def weight_distances(states: Callable[[str], dict[str, Any] | None], *, keep: int | None = None) -> Distance:
    """A memoised ``distance(a, b)`` over model ids: :func:`weight_distance` of ``states(id)`` (None when
    a state cannot be read); ``keep``: the most states held at once (the least recently used is read again
    when needed; None: all)."""
    memo: dict[frozenset[str], float | None] = {}
    cache: dict[str, dict[str, Any] | None] = {}

    def state(mid: str) -> dict[str, Any] | None:
        if mid not in cache:
            cache[mid] = states(mid)
            if keep is not None and len(cache) > keep:
                del cache[next(iter(cache))]
        else:
            cache[mid] = cache.pop(mid)  # most recently used last
        return cache[mid]

    def distance(x: str, y: str) -> float | None:
        key = frozenset((x, y))
        if key not in memo:
            sa, sb = state(x), state(y)
            memo[key] = weight_distance(sa, sb) if sa is not None and sb is not None else None
        return memo[key]

    return distance


def _bridged(x: Relation, pool: list[Relation], distance: Distance,
             positions: dict[str, float] | None = None) -> Relation | None:
    """A relative ``y`` of the pool closer both to the suspect and to ``x`` than ``x`` is to the suspect
    (the sibling rule, :func:`choose`); None when there is none or a distance is not known. With
    ``positions`` (along a family's drift), a ``y`` later than both is not on the tree path between them."""
    dx = distance(SUSPECT, x.candidate)
    if dx is None:
        return None
    for y in pool:
        if y is x:
            continue
        if positions and all(k in positions for k in (SUSPECT, x.candidate, y.candidate)) and (
                positions[y.candidate] >= max(positions[SUSPECT], positions[x.candidate])):
            continue
        dy = distance(SUSPECT, y.candidate)
        if dy is None or not dy < dx:
            continue
        d = distance(x.candidate, y.candidate)
        if d is not None and d < dx:
            return y
    return None


def _nearness(r: Relation, distance: Distance | None) -> tuple[float, tuple[float, float]]:
    d = distance(SUSPECT, r.candidate) if distance is not None else None
    return (float("inf") if d is None else d, r.closeness())


def choose(accepted: list[Relation], *, parent_of: dict[str, str] | None = None,
           distance: Distance | None = None, positions: dict[str, float] | None = None) -> Relation | None:
    """The relation a lookup answers with, among the accepted ones (module docstring): a re-upload (the
    closest function; among quantised re-uploads only, with ``distance``, the nearest in weights) first; else,
    among the relatives the verdict calls *copy* (within its copy band: the suspect's own family) when there
    are any, all accepted ones otherwise: the closest model the
    suspect derives from (its parent); else the closest model derived from it (its child); else the
    closest relative. (A loose *shared parent* with another family must not outrank the family.)

    **The sibling rule** (with ``distance``): a relative ``X`` is no direct relative (parent or child) of
    the suspect when another relative ``Y`` is closer both to the suspect and to ``X`` than the suspect
    is to ``X``: then ``Y`` lies between them, as a common parent lies between two siblings (each sibling
    is nearer the parent than the other sibling) and a parent between a grandparent and a grandchild.
    Such an ``X`` is passed over (the relative-neighbourhood graph of the family, which keeps every edge
    of a tree whose distances grow along its paths: a fine-tune's change adds to its parent's). The
    distance is the weights' (:func:`weight_distance`; the lineage statistic's ``1 - S`` was too noisy
    at this scale on the dev families, ``bench/results/lineage_dev.md``); the rule has no threshold,
    and among the relatives it keeps, the nearest in weights is chosen. The direction rules alone
    order *any* two related trained models, siblings too.

    Parameters
    ----------
    accepted : list of Relation
        The suspect's accepted relations.
    parent_of : dict, optional
        The index's stored parents (``{child id: parent id}``, :func:`srprint.lineage.graph.parents`): of
        the models the suspect derives from, one that is a stored ancestor of another is not its parent
        (a grandparent); of the models derived from it, one that descends from another is a grandchild.
    distance : callable, optional
        ``distance(a, b)``: the weight distance of two models by id, the suspect's id being
        :data:`SUSPECT` (None if not known, e.g. another layout): enables the sibling rule.
    positions : dict, optional
        Positions along the family's drift, earlier first (``drift.along_drift``'s ``oriented``): every model
        on the tree path between two others is an ancestor of one of them, so a relative later than both the
        suspect and ``X`` does not pass ``X`` over.

    Returns
    -------
    Relation or None
        The chosen relation; None when nothing is accepted.
    """
    if not accepted:
        return None
    same = [r for r in accepted if r.relation == "same model"]
    if same:
        exact = [r for r in same if not quantised_reupload(r)]
        if exact or distance is None:
            return max(exact or same, key=lambda r: r.function_db)
        # only quantised re-uploads (same model by a storage grid): rounding moves the weights by independent
        # errors, so a relative the original was fine-tuned from or into sits farther in weights by the
        # fine-tune's change, while on the probes quantisation noise can swamp it (an int8 SPAN x4 agreed with
        # its source's 100-step fine-tune at 24.30 dB, with the source at 24.09; in weights the source was the
        # nearest; bench/results/lineage_quantised_reuploads.md)
        return min(same, key=lambda r: _nearness(r, distance))
    pool = [r for r in accepted if r.verdict == "copy"] or accepted
    for kind in ("derived", "parent"):
        hits = [r for r in pool if r.relation == kind]
        if distance is not None:
            hits = [r for r in hits if _bridged(r, pool, distance, positions) is None]
        if hits:
            if parent_of and not positions:  # along a drift, an earlier relative need not be an ancestor
                hits = _direct(hits, parent_of, up=kind == "derived")
            return min(hits, key=lambda r: _nearness(r, distance))
    return min(pool, key=lambda r: _nearness(r, distance))


def quantised_reupload(rel: Relation) -> bool:
    """A *same model* named only by a storage grid (``same_by``; in answers stored before that field, one whose
    function agrees below :data:`SAME_FUNCTION_DB`, though the function stage's *same* decides some below it)."""
    return rel.same_by == "storage grid" if rel.same_by else rel.function_db < SAME_FUNCTION_DB


def accepted(rel: Relation, alpha: float) -> bool:
    """A relation the answer may name: related, and its family-wise error rate below ``alpha``, or
    decided by the verdict without a p-value (identical weights; the same function where no reference
    model of the task gives a null)."""
    if rel.relation == "unrelated":
        return False
    if rel.fwer is None:
        return rel.verdict in ("copy", "identical weights")
    return rel.fwer < alpha
