"""``srprint lineage query``: which indexed model is this file, and how is it related?

1. The file (an entry folder, or a checkpoint imported into a temporary zoo) is sketched.
2. **Lookup**: the ``k`` nearest sketches of its ``(task, scale)`` group (milliseconds; timed apart).
   A model with the same weights (content sha256) is the same model at once.
3. **Confirmation**: the nearest sketch, the ``confirm`` records nearest to it in weights among the
   :data:`N_WEIGHT_POOL` nearest sketches with its kernel layout (a fine-tune's parent: :func:`nearest_in_weights`),
   then the other nearest sketches up to that many (and, where the family found shares a drift, the records
   nearest in weights to its earliest member: :func:`srprint.lineage.drift.upstream`); candidates whose entries
   are on disk go through :func:`srprint.lineage.relate.relate` (the ownership verdict plus the function
   distance), closest first; a re-upload computing the same function (*same model*) ends it early (one found by its
   storage grid does not: a relative of its source on that grid is also *same model*, and the closest
   function wins). Then up to ``n_expand`` more: the records nearest to the relatives the suspect was found to
   derive from (its parent may be theirs). The nulls of each verdict use the candidate's own
   references (:func:`candidate_references`: every indexed model of the group but the pair, the same
   for every query), so the verdict's cached nulls (``verification/null_cache.py``) serve
   every later query of that candidate and a query pays only for its pairs.
4. **Answer**: among the relations whose family-wise error rate over the group (weighted Holm, every
   indexed model of the group a hypothesis, those with the suspect's kernel layout holding half of the
   level: :func:`srprint.lineage.familywise.fwer`) is below ``alpha``, or that reproduce the candidate's function
   exactly, oriented again by the anchor rule (:func:`srprint.lineage.orient.by_anchor`: of two relatives,
   the one nearer in weights to the best-restoring trained model is the parent), then, where the suspect's
   family shares a drift (:func:`srprint.lineage.drift.along_drift`), by its position along it, the weight
   distances then taken with the drift removed,
   :func:`srprint.lineage.relate.choose` picks *same model*, *derived from X* (the closest
   relative the suspect derives from), *X derives from it*, *shares a parent with X*, or *unknown*; a
   relative with another relative closer both to it and to the suspect in weights is passed over (the
   sibling rule; :func:`srprint.lineage.relate.weight_distance`, each model's weights read once).
   A declared parent (import metadata) that the weights do not support is flagged.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from . import graph
from .build import _metadata, content_sha256, resolve_inputs
from .drift import along_drift, upstream
from .familywise import fwer, layout, layout_weights
from .orient import by_anchor
from .relate import (
    SAME_FUNCTION_DB,
    SUSPECT,
    Distance,
    Relation,
    accepted,
    choose,
    relate,
    weight_distances,
)
from .sketch import function_psnr, group_key, heldout_stats, model_sketch, weight_stats
from .store import LineageIndex, Record

DEFAULT_K = 10
# the nearest sketches whose weights are compared with the suspect's when it shares their kernel layout: the
# sketch (what a model computes) does not order a family by descent, its weights do. Diagnostic of bench/lineage.py's
# v8 population, read after that run (so post hoc): the true parent was among the 3 nearest sketches for 38 of 75
# derived models, among the 3 nearest in weights (same layout) for 67 of 75
N_WEIGHT_POOL = 50
DEFAULT_CONFIRM = 3  # the true parent was among the 3 nearest sketches for 18 of 18 fine-tunes (first run)
DEFAULT_EXPAND = 2  # a fine-tune at 3x the learning rate had its siblings, not its root, as nearest sketches
# budgets of the graph walk and of the search before *unknown* (set before the run they were measured on,
# from the family sizes of bench/lineage.py: a root, two children, a grandchild)
DEFAULT_WALK = 3
DEFAULT_MORE = 3
ALPHA = 0.05  # family-wise error rate over the group (the verdict's per-pair level stays 1e-3)
N_REFERENCES = 8


FwerOf = Callable[[list[Relation]], None]


def fwer_of(suspect_stats: dict[str, Any] | None, records: list[Record], m: int) -> FwerOf:
    """``set_fwer(relations)``: sets each relation's family-wise error rate over the ``m`` models of the group
    (:func:`srprint.lineage.familywise.fwer`, weighted by :func:`srprint.lineage.familywise.layout_weights`; a
    candidate not among ``records`` weighs 1)."""
    weights = layout_weights(suspect_stats, {r.model_id: r.stats for r in records}, m)

    def set_fwer(relations: list[Relation]) -> None:
        adjusted = fwer([r.p_value for r in relations], [weights.get(r.candidate, 1.0) for r in relations], m)
        for rel, fw in zip(relations, adjusted, strict=True):
            rel.fwer = fw

    return set_fwer


def _load_entry(path: str | Path) -> Any:
    from ..zoo.entry import ZooEntry

    return ZooEntry.load(path)


def _references(records: list[Record], exclude: set[int], n: int = N_REFERENCES) -> list[Any]:
    """``n`` on-disk entries of the group, none in ``exclude``, in a fixed pseudo-random order of their
    content hashes (leaving one model out changes at most one reference, so cached nulls still serve)."""
    pool = sorted((r for r in records if r.key not in exclude and r.path and Path(r.path).is_dir()),
                  key=lambda r: hashlib.sha256(f"ref|{r.sha256}".encode()).hexdigest())
    out = []
    for r in pool:
        if len(out) >= n:
            break
        try:
            out.append(_load_entry(r.path))
        except SrprintError:
            continue
    return out


def candidate_references(rec: Record, records: list[Record], *, exclude: set[int]) -> list[Any]:
    """The reference models of one candidate's nulls: every on-disk entry of its group but the candidate and
    ``exclude`` (the other side of the pair, and models a query leaves out).

    The candidate's nearest sketches are *not* left out: they are the models whose layers pair with the
    candidate's, and a null without them is one of random re-initialisations only, which any trained net
    of the kind clears (two false cross-family *shared parent* links of the README index,
    ``bench/results/lineage_null_pool.md``). A relative in the null only makes the test stricter, and the
    verification drops declared relatives itself (:func:`srprint.verification.ownership.select_references`).
    """
    return _references(records, {rec.key} | exclude, n=len(records))


def suspect_profile(entry: Any) -> dict[str, Any]:
    """Sketch, probe outputs, weight statistics and content hash of one zoo entry."""
    from ..io.checkpoints import load_weights
    from ..zoo.model import build_model

    state = load_weights(entry.weights_path)
    model = build_model(entry, state)
    sketch, outputs = model_sketch(model, entry.task, entry.scale)
    stats = {**weight_stats(state), **heldout_stats(model, entry.task, entry.scale)}
    stats["sha256"] = content_sha256(state)
    return {"entry": entry, "model": model, "sketch": sketch, "outputs": outputs, "stats": stats,
            "meta": _metadata(entry)}


def confirm(profile: dict[str, Any], rec: Record, distance: float, *, load: Any,
            references: list[Any], cache: dict[Any, Any] | None = None) -> Relation | None:
    """:func:`relate` of the suspect profile to one record (None if the record's entry is not on disk).
    ``cache``: the verdicts' memo, shared by one suspect's candidates."""
    if not rec.path or not Path(rec.path).is_dir():
        return None
    t0 = time.perf_counter()
    cand = _load_entry(rec.path)
    _, cand_out = model_sketch(load(cand), cand.task, cand.scale)
    fdb = function_psnr(profile["outputs"], cand_out)
    try:
        rel = relate(profile["entry"], cand, record={**rec.to_dict(), "stats": rec.stats},
                     suspect_stats=profile["stats"], function_db=fdb, sketch_distance=distance, load=load,
                     references=references, suspect_meta=profile.get("meta"), cache=cache)
    except (ValueError, RuntimeError, SrprintError) as exc:  # one pair the verdict cannot compare: not a lookup's end
        rel = Relation(rec.model_id, "unrelated", "error", None, fdb, distance,
                       explanation=f"not confirmed: {type(exc).__name__}: {exc}"[:300],
                       record={**rec.to_dict(), "stats": rec.stats})
    rel.seconds = round(time.perf_counter() - t0, 3)
    return rel


def nearest_in_weights(pool: list[tuple[Record, float]], suspect_stats: dict[str, Any] | None,
                       distance: Callable[[str, str], float | None], n: int) -> list[tuple[Record, float]]:
    """The ``n`` records of ``pool`` (nearest sketches, ``(record, sketch distance)``) with the suspect's kernel
    layout (:func:`~srprint.lineage.familywise.layout`) nearest to it in weights (:func:`weight_distances`' ``distance``
    with :data:`~srprint.lineage.relate.SUSPECT`; records whose weights cannot be compared are left out), nearest
    first, ties by id."""
    mine = layout(suspect_stats)
    if mine is None or n < 1:
        return []
    scored = []
    for rec, d in pool:
        if layout(rec.stats) == mine and (w := distance(SUSPECT, rec.model_id)) is not None:
            scored.append((w, rec.model_id, rec, d))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [(rec, d) for _, _, rec, d in scored[:n]]


def choose_oriented(acc: list[Relation], suspect_stats: dict[str, Any], distance: Distance | None, *,
                    parent_of: dict[str, str] | None = None
                    ) -> tuple[list[Relation], Relation | None, dict[str, Any]]:
    """A lookup's answer among its accepted relations ``acc`` (module docstring, step 4): oriented by the anchor rule
    (:func:`srprint.lineage.orient.by_anchor`), then along the family's shared drift where there is one
    (:func:`srprint.lineage.drift.along_drift`), and chosen by :func:`srprint.lineage.relate.choose` with the
    stored parents ``parent_of``, on the weight distance with the drift removed. Returns the relations as
    oriented (in the order given), the chosen one (None: *unknown*) and the drift's findings."""
    drifted, choice_distance, drift = along_drift(by_anchor(acc, suspect_stats, distance), suspect_stats, distance)
    best = choose(drifted, parent_of=parent_of, distance=choice_distance, positions=drift.get("oriented"))
    return drifted, best, drift


def _answer(best: Relation | None, suspect_id: str) -> str:
    if best is None:
        return f"{suspect_id}: unknown (no indexed model is related)"
    lic = best.record.get("licence")
    tail = f", whose licence is {lic}" if lic else ""
    x = best.candidate
    if best.relation == "same model":
        edits = f" ({', '.join(best.edits)})" if best.edits else ""
        return f"{suspect_id}: same model as {x}{edits}{tail}"
    if best.relation == "derived":
        return f"{suspect_id}: derived from {x}{tail}; direction: {'; '.join(best.direction_evidence)}"
    if best.relation == "derived (direction unknown)":
        return (f"{suspect_id}: derived from {x} or {x} from it{tail} (direction unknown: "
                f"{'; '.join(best.direction_evidence)})")
    if best.relation == "parent":
        return f"{suspect_id}: {x} is derived from it ({'; '.join(best.direction_evidence)})"
    return f"{suspect_id}: shares a parent with {x}{tail}"


def _check_declared(declared: str, index: LineageIndex, prof: dict[str, Any], relations: list[Relation], *,
                    alpha: float, exclude: frozenset[str]) -> str | None:
    """A flag when the suspect's declared parent is indexed but its weights are not related to it (the
    declared parent is confirmed on its own when it was not among the confirmed candidates)."""
    from ..verification.fingerprint import load_entry_model

    rec = index.find(model_id=declared)
    if rec is None or declared in exclude:
        return None
    rel = next((r for r in relations if r.candidate == declared), None)
    if rel is None:
        rel = confirm(prof, rec, 1.0 - float(rec.sketch @ prof["sketch"]), load=load_entry_model, references=[])
        if rel is None:
            return None
        fwer_of(prof["stats"], index.records(rec.group), index.groups().get(rec.group, 1))([rel])
    if accepted(rel, alpha):
        return None
    return f"declares {declared} as its parent, but its weights are not related to {declared} ({rel.verdict})"


def _upstream_neighbours(index: LineageIndex, relations: list[Relation], records: list[Record], *,
                         exclude: frozenset[str] | set[str], alpha: float, n: int) -> list[Record]:
    """Up to ``n`` unconfirmed records nearest (by sketch) to the confirmed relatives the suspect derives
    from, closest relative first: the suspect's parent may be its relatives' parent (a fine-tune that
    moved far from its root can sit nearer its siblings than the root)."""
    if n <= 0:
        return []
    by_id = {r.model_id: r for r in records}
    done = {r.candidate for r in relations} | set(exclude)
    out: list[Record] = []
    ups = sorted((r for r in relations if r.relation == "derived" and accepted(r, alpha)), key=Relation.closeness)
    for up in ups:
        rec = by_id.get(up.candidate)
        if rec is None:
            continue
        for o, _ in index.nearest(rec.group, rec.sketch, DEFAULT_K + len(done)):
            if len(out) >= n:
                return out
            if o.model_id not in done and o.path and Path(o.path).is_dir():
                done.add(o.model_id)
                out.append(o)
    return out


def _any_accepted(relations: list[Relation], set_fwer: FwerOf, alpha: float) -> bool:
    set_fwer(relations)
    return any(accepted(r, alpha) for r in relations)


def _walk(index: LineageIndex, relations: list[Relation], records: list[Record], run: Any, *, exclude: set[str],
          alpha: float, n: int, n_expand: int, set_fwer: FwerOf) -> list[str]:
    """Confirm the stored relatives (:func:`srprint.lineage.graph.relatives`) of the suspect's accepted
    relatives, closest relative first, until ``n`` more are confirmed; in an index without a stored graph,
    :func:`_upstream_neighbours` instead. Returns the ids confirmed."""
    done: list[str] = []
    if not graph.linked_keys(index):
        for rec in _upstream_neighbours(index, relations, records, exclude=exclude, alpha=alpha, n=n_expand):
            done.append(rec.model_id)
            run(rec)
        return done
    seen = set(exclude) | {r.candidate for r in relations}
    while len(done) < n:
        _any_accepted(relations, set_fwer, alpha)
        frontier = [r.candidate for r in sorted((r for r in relations if accepted(r, alpha)), key=Relation.closeness)]
        nxt = [c for c in graph.relatives(index, frontier, records, exclude=seen, alpha=alpha)]
        if not nxt:
            break
        rec = nxt[0]
        seen.add(rec.model_id)
        done.append(rec.model_id)
        run(rec)
    return done


def query_file(path: Path, index_dir: Path, *, k: int = DEFAULT_K, n_confirm: int = DEFAULT_CONFIRM,
               alpha: float = ALPHA, allow_pickle: bool = False, exclude: frozenset[str] = frozenset(),
               n_expand: int = DEFAULT_EXPAND, n_walk: int = DEFAULT_WALK,
               n_more: int = DEFAULT_MORE) -> dict[str, Any]:
    """Look ``path`` (entry folder or checkpoint file) up in the index at ``index_dir`` (module docstring).
    ``exclude``: indexed model ids to leave out (a benchmark's leave-one-out queries); ``n_expand``:
    records near the confirmed relatives the suspect derives from, confirmed after the nearest
    ``n_confirm`` in an index without a stored family graph (:func:`_upstream_neighbours`); ``n_walk``:
    the stored relatives of the confirmed relatives, confirmed next in an index with one
    (:func:`srprint.lineage.graph.relatives`); ``n_more``: further nearest sketches confirmed when nothing
    is related yet.

    Raises
    ------
    SrprintError
        ``path`` is not one readable model, or the index is missing or corrupt.
    """
    from ..verification.fingerprint import load_entry_model
    from ..verification.ownership import memoised

    index = LineageIndex(index_dir)
    p = Path(path)
    if p.is_dir() and not (p / "model.json").is_file():
        raise SrprintError(f"{p}: give one model (a zoo entry folder or a checkpoint file), not a folder of models")
    tmp = Path(tempfile.mkdtemp(prefix="srprint-lineage-query-")) if p.is_file() else None
    try:
        entries = resolve_inputs([p], import_to=tmp, allow_pickle=allow_pickle)
        if len(entries) != 1:
            raise SrprintError(f"{p} holds {len(entries)} models (a multi-scale file): import it with "
                               f"`srprint zoo import` and query one entry folder")
        t0 = time.perf_counter()
        prof = suspect_profile(_load_entry(entries[0]))
        sketch_s = time.perf_counter() - t0
        entry = prof["entry"]
        group = group_key(entry.task, entry.scale)
        t1 = time.perf_counter()
        pool = [(r, d) for r, d in index.nearest(group, prof["sketch"], max(k, N_WEIGHT_POOL) + len(exclude))
                if r.model_id not in exclude]
        near = pool[:k]
        lookup_ms = (time.perf_counter() - t1) * 1000
        group_size = index.groups().get(group, 0)
        out: dict[str, Any] = {"suspect": entry.id, "group": group, "group_size": group_size,
                               "sketch_s": round(sketch_s, 3), "lookup_ms": round(lookup_ms, 3),
                               "candidates": [{"id": r.model_id, "sketch_distance": d} for r, d in near]}
        twin = index.find(sha256=prof["stats"]["sha256"], group=group)
        twin = None if twin is not None and twin.model_id in exclude else twin
        relations: list[Relation] = []
        distance = None  # the sibling rule's distances between relatives (relate.choose)
        stored = {c: p for c, p in graph.parents(index, group).items() if c not in exclude and p not in exclude}
        t2 = time.perf_counter()
        if twin is not None:
            rel = Relation(twin.model_id, "same model", "identical weights", 0.0, float("inf"), 0.0,
                           ["identical weights" + (" (renamed)" if twin.model_id != entry.id else "")],
                           record={**twin.to_dict(), "stats": twin.stats}, fwer=0.0,  # p = 0: any weighting
                           same_by="weights")
            relations.append(rel)
        else:
            load = memoised(load_entry_model)
            recs = index.records(group)
            left_out = {r.key for r in recs if r.model_id in exclude}
            memo: dict[Any, Any] = {}
            by_id = {r.model_id: r for r in recs}
            distance = weight_distances(lambda mid: graph.entry_state(entry if mid == SUSPECT else by_id[mid].path))
            set_fwer = fwer_of(prof["stats"], recs, group_size)
            out["same_layout"] = sum(layout(r.stats) == layout(prof["stats"]) for r in recs) if layout(
                prof["stats"]) is not None else 0

            def run(rec: Record, dist: float | None = None) -> Relation | None:
                d = 1.0 - float(rec.sketch @ prof["sketch"]) if dist is None else dist
                rel = confirm(prof, rec, d, load=load, references=candidate_references(rec, recs, exclude=left_out),
                              cache=memo)
                if rel is not None:
                    relations.append(rel)
                    set_fwer(relations)
                return rel

            # the nearest sketch (a re-upload computes its source's function; a permuted one is far in weights), the
            # nearest in weights of the suspect's layout (a fine-tune's parent), then the other nearest sketches
            by_weight = nearest_in_weights(pool, prof["stats"], distance, n_confirm)
            out["weight_nearest"] = [r.model_id for r, _ in by_weight]
            first = near[:1] + [(r, d) for r, d in by_weight if not near or r.model_id != near[0][0].model_id]
            firsts = {r.model_id for r, _ in first}
            budget = max(n_confirm, len(first))
            tried: set[str] = set()
            for rec, dist in first + [(r, d) for r, d in near if r.model_id not in firsts]:
                if len(relations) >= budget:
                    break
                tried.add(rec.model_id)
                rel = run(rec, dist)
                if rel is not None and rel.relation == "same model" and accepted(rel, alpha) and (
                        rel.function_db >= SAME_FUNCTION_DB):
                    break  # a re-upload of the same function: nothing is closer (a grid one may be a relative's)
            reupload = any(r.relation == "same model" and accepted(r, alpha) for r in relations)
            out["walked"] = [] if reupload else _walk(index, relations, recs, run, alpha=alpha, n=n_walk,
                                                      exclude=set(exclude) | {entry.id} | tried, n_expand=n_expand,
                                                      set_fwer=set_fwer)
            if not reupload:  # upstream of a drifting family: its root is the member farthest from late fine-tunes
                set_fwer(relations)
                for rec in upstream([r for r in relations if accepted(r, alpha)], [r for r, _ in pool], prof["stats"],
                                    distance, exclude=set(exclude) | {entry.id} | tried | set(out["walked"]),
                                    n=n_expand):
                    out.setdefault("upstream", []).append(rec.model_id)
                    run(rec)
            if not reupload and not _any_accepted(relations, set_fwer, alpha):  # look further before *unknown*
                for rec, dist in [(r, d) for r, d in near if r.model_id not in tried | set(out["walked"])][:n_more]:
                    out.setdefault("looked_further", []).append(rec.model_id)
                    tried.add(rec.model_id)
                    run(rec, dist)
                if _any_accepted(relations, set_fwer, alpha):  # found one: walk its family
                    out["walked"] += _walk(index, relations, recs, run, alpha=alpha, n=n_walk, n_expand=n_expand,
                                           exclude=set(exclude) | {entry.id} | tried | set(out["walked"]),
                                           set_fwer=set_fwer)
            set_fwer(relations)
        out["confirm_s"] = round(time.perf_counter() - t2, 3)
        t3 = time.perf_counter()
        acc = [r for r in relations if accepted(r, alpha)]
        drifted, best, drift = choose_oriented(acc, prof["stats"], distance, parent_of=stored)
        out["drift"] = {k: v for k, v in drift.items() if k not in ("members", "oriented", "positions")}
        if drift.get("positions"):  # the suspect by its id (SUSPECT is an internal key)
            out["drift"]["positions"] = {entry.id if k == SUSPECT else k: v for k, v in drift["positions"].items()}
        oriented = {id(r): o for r, o in zip(acc, drifted, strict=True)}
        relations = [oriented.get(id(r), r) for r in relations]
        out["choose_s"] = round(time.perf_counter() - t3, 3)
        out["relations"] = [r.to_dict() for r in relations]
        out["answer"] = best.relation if best else "unknown"
        out["match"] = best.candidate if best else None
        out["fwer"] = best.fwer if best else None
        out["text"] = _answer(best, entry.id)
        declared = (entry.labels or {}).get("declared_parent") or (
            ((entry.imported or {}).get("manifest_row") or {}).get("parent"))
        if declared:
            out["declared_parent"] = declared
            flag = _check_declared(declared, index, prof, relations, alpha=alpha, exclude=exclude)
            if flag:
                out["flags"] = [flag]
        return out
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
