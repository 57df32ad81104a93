"""The family graph stored in the lineage index: the relations confirmed at index time, and one parent per model.

``srprint lineage index`` confirms each added model against its ``k`` nearest sketches
(:func:`srprint.lineage.tree.link_index`) and keeps every confirmed pair here, in three tables of the
index's ``records.sqlite`` (written under the index's writer lock, in one transaction per model: the
registry's concurrency rules):

* ``relations``: one row per unordered pair of record keys, the relation as seen from ``a`` (the model
  that was being linked) to ``b``, with its verdict, p-value, lineage and function distances and the
  evidence (the :meth:`~srprint.lineage.relate.Relation.to_dict` of the confirmation);
* ``linked``: the models whose nearest sketches were confirmed, and with which ``k``;
* ``parents``: at most one parent per model (``child`` is the primary key), recomputed for a group from
  its relations after each link: the parent of ``M`` is what :func:`srprint.lineage.relate.choose` names
  among ``M``'s accepted relations when it answers *derived from X* (family-wise error rate over the
  group by Holm, every model of the group a hypothesis), chosen as a lookup chooses (the drift steps of
  :mod:`srprint.lineage.drift`, the sibling rule on the weights), closest edge first, and an edge that
  would close a cycle is left out.

The graph is valid for the verification statistic that confirmed it (``meta`` row ``graph_statistic``:
:data:`srprint.verification.null_cache.STATISTIC_VERSION`). Under another version the stored graph is
not read (a query does not walk it), and the next link clears it and confirms every model again.

The stored relations keep the pairwise direction each confirmation found; what reads them as a family
(the parents, ``srprint lineage tree``) orients them again first (:func:`oriented_relations`): each
connected component away from its anchor, the family's best restorer, by the lookup's anchor rule
(:func:`srprint.lineage.orient.by_component`; the weight distances read from the records' entry folders).

A query (:func:`srprint.lineage.query.query_file`) walks this graph: the stored relatives of each
relative it confirmed are confirmed next (:func:`relatives`), and the stored parents tell a direct parent
or child from a grandparent or grandchild (:func:`srprint.lineage.relate.choose`'s ``parent_of``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from ..verification.null_cache import STATISTIC_VERSION
from .drift import along_drift
from .familywise import holm
from .orient import by_component
from .relate import SUSPECT, Distance, Relation, accepted, choose, weight_distances
from .store import LineageIndex, Record

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS relations (
        a INTEGER NOT NULL, b INTEGER NOT NULL, relation TEXT NOT NULL, verdict TEXT NOT NULL, p_value REAL,
        distance REAL, function_db REAL, detail TEXT NOT NULL, added TEXT NOT NULL, PRIMARY KEY (a, b))""",
    "CREATE TABLE IF NOT EXISTS linked (key INTEGER PRIMARY KEY, k INTEGER NOT NULL, added TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS parents (
        child INTEGER PRIMARY KEY, parent INTEGER NOT NULL, fwer REAL, detail TEXT NOT NULL)""",
)
FLIP = {"derived": "parent", "parent": "derived"}
ALPHA = 0.05
KEEP_STATES = 16  # weights held at once while orienting a group (a family's models, its anchor among them)
States = Callable[[Record], "dict[str, Any] | None"]


def entry_state(entry_or_path: Any) -> dict[str, Any] | None:
    """An entry's weights (for :func:`srprint.lineage.relate.weight_distance`), from the entry or its folder;
    None if they cannot be read."""
    from ..io.checkpoints import load_weights
    from ..zoo.entry import ZooEntry

    try:
        entry = entry_or_path if hasattr(entry_or_path, "weights_path") else ZooEntry.load(entry_or_path)
        return load_weights(entry.weights_path)
    except SrprintError:
        return None


def record_state(rec: Record) -> dict[str, Any] | None:
    """A record's weights, read from its entry folder (None when it is not on disk or cannot be read)."""
    return entry_state(rec.path) if rec.path and Path(rec.path).is_dir() else None


def ensure_schema(index: LineageIndex) -> None:
    """Create the graph's tables in an index made before they existed, and clear a graph that another
    version of the verification statistic confirmed (module docstring); idempotent."""
    with index._locked(), index._write() as con:
        for stmt in SCHEMA:
            con.execute(stmt)
        if not _current(con):
            for table in ("relations", "linked", "parents"):
                con.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            con.execute("INSERT OR REPLACE INTO meta VALUES ('graph_statistic', ?)", (STATISTIC_VERSION,))


def _current(con: sqlite3.Connection) -> bool:
    """Whether the stored graph was confirmed by this version of the statistic (an index linked before the
    version was recorded counts as another version)."""
    row = con.execute("SELECT value FROM meta WHERE name = 'graph_statistic'").fetchone()
    return row is not None and row[0] == STATISTIC_VERSION


def _has_graph(con: sqlite3.Connection) -> bool:
    """A graph this version of the statistic confirmed (a stale one reads as none)."""
    return (con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'relations'").fetchone()
            is not None and _current(con))


def linked_keys(index: LineageIndex) -> dict[int, int]:
    """``{record key: k}`` of the models whose nearest sketches were confirmed (empty without a graph)."""
    with index._connect() as con:
        if not _has_graph(con):
            return {}
        return {int(a): int(b) for a, b in con.execute("SELECT key, k FROM linked").fetchall()}


def known_pairs(index: LineageIndex) -> set[frozenset[int]]:
    """The unordered pairs of record keys already confirmed."""
    with index._connect() as con:
        if not _has_graph(con):
            return set()
        return {frozenset((int(a), int(b))) for a, b in con.execute("SELECT a, b FROM relations").fetchall()}


def store_links(index: LineageIndex, key: int, k: int, rels: list[tuple[int, Relation]]) -> None:
    """Record one model's confirmations ``[(candidate key, relation)]`` and mark it linked with ``k``, in
    one transaction under the writer lock (a pair confirmed meanwhile from the other side is kept once)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with index._locked(), index._write() as con:
        for other, rel in rels:
            if con.execute("SELECT 1 FROM relations WHERE (a = ? AND b = ?) OR (a = ? AND b = ?)",
                           (key, other, other, key)).fetchone():
                continue
            con.execute("INSERT INTO relations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, other, rel.relation, rel.verdict, rel.p_value, rel.distance, rel.function_db,
                         json.dumps(rel.to_dict(), default=str), now))
        con.execute("INSERT OR REPLACE INTO linked VALUES (?, ?, ?)", (key, k, now))


def _as_seen_from(row: tuple[Any, ...], key: int) -> tuple[int, dict[str, Any]]:
    a, b, relation, _verdict, _p, _dist, _fdb, detail = row
    d = json.loads(detail)
    if int(a) == key:
        return int(b), d
    return int(a), {**d, "relation": FLIP.get(relation, relation)}


def stored_relations(index: LineageIndex, group: str, *, alpha: float = ALPHA) -> dict[int, list[tuple[int, Relation]]]:
    """Every model's stored relations, as seen from it: ``{key: [(other key, Relation)]}``, each model's
    family-wise error rates by Holm over its own confirmations among the group's models."""
    recs = {r.key: r for r in index.records(group)}
    m = len(recs)
    with index._connect() as con:
        if not _has_graph(con):
            return {}
        rows = con.execute("SELECT a, b, relation, verdict, p_value, distance, function_db, detail FROM relations"
                           ).fetchall()
    out: dict[int, list[tuple[int, Relation]]] = {}
    for row in rows:
        a, b = int(row[0]), int(row[1])
        if a not in recs or b not in recs:
            continue
        for me in (a, b):
            other, d = _as_seen_from(row, me)
            rel = Relation.from_dict({**d, "candidate": recs[other].model_id},
                                     record={**recs[other].to_dict(), "stats": recs[other].stats})
            out.setdefault(me, []).append((other, rel))
    for rels in out.values():
        for (_, rel), fw in zip(rels, holm([r.p_value for _, r in rels], m), strict=True):
            rel.fwer = fw
    return out


def oriented_relations(index: LineageIndex, group: str, *, alpha: float = ALPHA, states: States | None = None,
                       distance: Distance | None = None) -> dict[int, list[tuple[int, Relation]]]:
    """:func:`stored_relations` with each connected component oriented away from its anchor
    (:func:`srprint.lineage.orient.by_component`: the rule a lookup applies, the anchor chosen among the
    component's models); a component without an anchor keeps the pairwise directions.

    Parameters
    ----------
    index : LineageIndex
        The index.
    group : str
        The ``(task, scale)`` group.
    alpha : float
        Family-wise error rate of a relation that joins a component.
    states : callable, optional
        ``states(record)``: a model's weights, for the weight distances (default :func:`record_state`: read
        from its entry folder; None: a distance is not known and the pair keeps its direction).
    distance : callable, optional
        The group's weight distance by id (:func:`group_distance`), when the caller holds one already.

    Returns
    -------
    dict
        ``{key: [(other key, Relation)]}`` as :func:`stored_relations` gives it.
    """
    rels = stored_relations(index, group, alpha=alpha)
    if not rels:
        return rels
    recs = {r.key: r for r in index.records(group)}
    by_id = {r.model_id: r for r in recs.values()}
    distance = distance or group_distance(index, group, states=states)
    seen = {recs[k].model_id: [r for _, r in mine] for k, mine in rels.items()}
    new = by_component(seen, {mid: r.stats for mid, r in by_id.items()}, distance,
                       is_accepted=lambda r: accepted(r, alpha))
    return {k: list(zip([o for o, _ in mine], new[recs[k].model_id], strict=True)) for k, mine in rels.items()}


def group_distance(index: LineageIndex, group: str, *, states: States | None = None) -> Any:
    """The weight distance of two models of ``group`` by id (:func:`srprint.lineage.relate.weight_distances`;
    ``states(record)`` reads a model's weights, default :func:`record_state`)."""
    by_id = {r.model_id: r for r in index.records(group)}
    read = states or record_state
    return weight_distances(lambda mid: read(by_id[mid]) if mid in by_id else None, keep=KEEP_STATES)


def _creates_cycle(parent_of: dict[int, int], child: int, parent: int) -> bool:
    seen, node = set(), parent
    while node in parent_of and node not in seen:
        if node == child:
            return True
        seen.add(node)
        node = parent_of[node]
    return node == child


def parents_from(rels: dict[int, list[tuple[int, Relation]]], *, alpha: float = ALPHA,
                 distance: Distance | None = None, records: dict[int, Record] | None = None
                 ) -> dict[int, tuple[int, Relation]]:
    """At most one parent per model from a group's relations as seen from each model (:func:`stored_relations`
    or :func:`oriented_relations`): the module docstring's choice, closest edge first, an edge that would
    close a cycle left out. Stores nothing.

    Parameters
    ----------
    rels : dict
        ``{key: [(other key, Relation)]}``.
    alpha : float
        Family-wise error rate of a parent edge.
    distance : callable, optional
        The weight distance of two models by id (:func:`group_distance`), with ``records`` (``{key: Record}``):
        each model's parent is chosen as a lookup chooses it (:func:`srprint.lineage.drift.along_drift`, then
        :func:`srprint.lineage.relate.choose`'s sibling rule); None: by closeness alone.
    records : dict, optional
        The group's records by key (with ``distance``).

    Returns
    -------
    dict
        ``{child key: (parent key, the relation naming it)}``.
    """
    edges = []
    for key, mine in rels.items():
        ok = [(o, r) for o, r in mine if accepted(r, alpha)]
        acc, choice_distance, drift = [r for _, r in ok], None, {}
        if distance is not None and records is not None and key in records:
            me = records[key].model_id

            def seen(a: str, b: str, me: str = me) -> float | None:
                return distance(me if a == SUSPECT else a, me if b == SUSPECT else b)

            acc, choice_distance, drift = along_drift(acc, records[key].stats or {}, seen)
        best = choose(acc, distance=choice_distance, positions=drift.get("oriented"))
        if best is not None and best.relation == "derived":
            other = next(o for (o, _), r in zip(ok, acc, strict=True) if r is best)
            edges.append((best.closeness(), key, other, best))
    parent_of: dict[int, int] = {}
    detail: dict[int, tuple[int, Relation]] = {}
    for _, child, parent, rel in sorted(edges, key=lambda t: t[0]):
        if not _creates_cycle(parent_of, child, parent):
            parent_of[child] = parent
            detail[child] = (parent, rel)
    return detail


def recompute_parents(index: LineageIndex, group: str, *, alpha: float = ALPHA, anchor: bool = True,
                      states: States | None = None) -> dict[int, int]:
    """Choose at most one parent per model of ``group`` from the stored relations (module docstring) and
    store them, replacing the group's previous choice.

    Parameters
    ----------
    index : LineageIndex
        The index.
    group : str
        The ``(task, scale)`` group.
    alpha : float
        Family-wise error rate of a stored parent edge.
    anchor : bool
        Orient each component away from its anchor first (:func:`oriented_relations`); False: the pairwise
        directions as stored (the rule before it, kept for comparison).
    states : callable, optional
        ``states(record)``: a model's weights (:func:`oriented_relations`).

    Returns
    -------
    dict
        ``{child key: parent key}``.
    """
    if anchor:  # one distance (each model's weights read once) orients the components and chooses the parents
        distance = group_distance(index, group, states=states)
        rels = oriented_relations(index, group, alpha=alpha, distance=distance)
        detail = parents_from(rels, alpha=alpha, distance=distance, records={r.key: r for r in index.records(group)})
    else:
        detail = parents_from(stored_relations(index, group, alpha=alpha), alpha=alpha)
    parent_of = {c: p for c, (p, _) in detail.items()}
    keys = [r.key for r in index.records(group)]
    with index._locked(), index._write() as con:
        con.executemany("DELETE FROM parents WHERE child = ?", [(k,) for k in keys])
        con.executemany("INSERT INTO parents VALUES (?, ?, ?, ?)",
                        [(c, p, rel.fwer, json.dumps(rel.to_dict(), default=str))
                         for c, (p, rel) in detail.items()])
    return parent_of


def parents(index: LineageIndex, group: str | None = None) -> dict[str, str]:
    """``{child model id: parent model id}`` of the stored graph (of ``group``, or every group)."""
    recs = {r.key: r for r in index.records(group)}
    with index._connect() as con:
        if not _has_graph(con):
            return {}
        rows = con.execute("SELECT child, parent FROM parents").fetchall()
    return {recs[int(c)].model_id: recs[int(p)].model_id for c, p in rows if int(c) in recs and int(p) in recs}


def relatives(index: LineageIndex, model_ids: list[str], records: list[Record], *, exclude: set[str],
              alpha: float = ALPHA) -> list[Record]:
    """The stored relatives of ``model_ids`` (in that order; each one's stored parent first, then its
    accepted relatives closest first), leaving out ``exclude``: what a query confirms next."""
    if not model_ids or not records:
        return []
    rels = stored_relations(index, records[0].group, alpha=alpha)
    by_key = {r.key: r for r in records}
    by_id = {r.model_id: r for r in records}
    up = {by_id[c].key: by_id[p].key for c, p in parents(index, records[0].group).items()
          if c in by_id and p in by_id}
    out: list[Record] = []
    seen = set(exclude)
    for mid in model_ids:
        rec = by_id.get(mid)
        if rec is None:
            continue
        order = ([up[rec.key]] if rec.key in up else []) + [
            o for o, r in sorted((t for t in rels.get(rec.key, []) if accepted(t[1], alpha)),
                                 key=lambda t: t[1].closeness())]
        for o in order:
            cand = by_key.get(o)
            if cand is not None and cand.model_id not in seen:
                seen.add(cand.model_id)
                out.append(cand)
    return out
