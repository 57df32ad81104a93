"""The lineage graph read from each indexed model's own lookup: what ``srprint lineage tree`` draws by default.

Why not the pairs alone: :func:`srprint.lineage.tree.assemble` keeps a stored pair only when its family-wise
error rate over *every pair* of the group (Holm over ``n (n - 1) / 2`` hypotheses) is below ``alpha``, and the
verdict's p-values bottom out near the resolution of its null (about 1e-4). On issue 28's benchmark population
(126 models of one group, 7875 pairs) that kept 4 edges, while a lookup of each derived model named its true parent
in 64 of 75. So the graph is built the way a user asks the question, one model at a time:

* each indexed model is looked up in its own index, itself left out
  (:func:`srprint.lineage.query.query_file` with ``exclude``: candidates, confirmations, the stored graph's walk,
  the drift steps and the parent choice exactly as for a file found on a hub);
* its answer *derived from X* is the edge ``X -> M``, with confidence ``1 - FWER``, the answer's own
  family-wise error rate over the group (weighted Holm over the group's models: the lookup's);
* *same model as X* (a re-upload indexed twice) and *derived, direction unknown* are undirected edges; *X
  derives from M* (a lookup that finds the suspect earlier than X) is the edge ``M -> X`` only when X's own
  lookup named no parent;
  *shares a parent* and *unknown* give no edge;
* edges are taken most confident first; one that would close a cycle or give a model a second parent is
  left out (each model's own answer comes before any other model's claim about it).

The answers are kept in the index's ``records.sqlite`` (table ``lookups``), each with the digest of its group's
population (record keys, ids and weight hashes): adding or removing a model of a group looks that group's models
up again, and a run cut short resumes (each answer is committed as it is found).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from ..verification.null_cache import STATISTIC_VERSION
from .familywise import find_root
from .store import LineageIndex, Record

SCHEMA = """CREATE TABLE IF NOT EXISTS lookups (
    key INTEGER PRIMARY KEY, population TEXT NOT NULL, answer TEXT NOT NULL, added TEXT NOT NULL)"""
ALPHA = 0.05
# answers that give an edge (the others: none); the last two are undirected
EDGE_ANSWERS = ("derived", "parent", "same model", "derived (direction unknown)")
# what is stored of a lookup's result, beside its time and the relation it names
KEEP = ("answer", "match", "fwer", "text")


def population_digest(records: list[Record]) -> str:
    """The digest a group's stored answers are valid for: its records' keys, ids and weight hashes, and the
    version of the verification statistic that answered (a new method looks every model up again)."""
    rows = sorted((int(r.key or 0), r.model_id, r.sha256) for r in records)
    return hashlib.sha256(json.dumps([STATISTIC_VERSION, rows]).encode()).hexdigest()[:16]


def _stored(index: LineageIndex) -> dict[int, tuple[str, dict[str, Any]]]:
    with index._connect() as con:
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lookups'").fetchone() is None:
            return {}
        return {int(k): (pop, json.loads(ans)) for k, pop, ans in
                con.execute("SELECT key, population, answer FROM lookups").fetchall()}


def _store(index: LineageIndex, key: int, population: str, answer: dict[str, Any]) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with index._locked(), index._write() as con:
        con.execute(SCHEMA)
        con.execute("INSERT OR REPLACE INTO lookups VALUES (?, ?, ?, ?)",
                    (key, population, json.dumps(answer, default=str), now))


def _kept(result: dict[str, Any], seconds: float) -> dict[str, Any]:
    """What is stored of one lookup: its answer, and the relation it names (evidence, distances, edits)."""
    rel = next((r for r in result.get("relations") or [] if r.get("candidate") == result.get("match")), None)
    return {**{k: result.get(k) for k in KEEP}, "seconds": round(seconds, 3), "relation": rel}


def own_lookups(index_dir: Path, *, progress: Callable[[str, dict[str, Any]], None] | None = None,
                lookup: Callable[..., dict[str, Any]] | None = None) -> dict[str, dict[str, Any] | None]:
    """Each indexed model's lookup in its own index, itself left out (stored; module docstring).

    Parameters
    ----------
    index_dir : Path
        The lineage index folder.
    progress : callable, optional
        Called with ``(model id, answer)`` after each lookup run now (not for stored ones).
    lookup : callable, optional
        The lookup (default :func:`srprint.lineage.query.query_file`; called as ``lookup(path, index_dir,
        exclude=frozenset({model id}))``).

    Returns
    -------
    dict
        ``{model id: answer}`` (``answer``, ``match``, ``fwer``, ``text``, ``relation``); None for a model whose
        entry folder is not on disk (it cannot be looked up); *unknown*, with the reason in ``text``, for one whose
        lookup failed (not stored: looked up again next time).

    Raises
    ------
    SrprintError
        The index is missing or corrupt.
    """
    if lookup is None:
        from .query import query_file as lookup
    index = LineageIndex(index_dir)
    stored = _stored(index)
    out: dict[str, dict[str, Any] | None] = {}
    for group in index.groups():
        recs = index.records(group)
        digest = population_digest(recs)
        for rec in recs:
            have = stored.get(int(rec.key or 0))
            if have is not None and have[0] == digest:
                out[rec.model_id] = have[1]
                continue
            if not rec.path or not Path(rec.path).is_dir():
                out[rec.model_id] = None
                continue
            t = time.perf_counter()
            try:
                ans = _kept(lookup(Path(rec.path), index_dir, exclude=frozenset({rec.model_id})),
                            time.perf_counter() - t)
            except SrprintError as exc:  # one unreadable entry costs its own edge, not the graph (not stored: retried)
                ans = {"answer": "unknown", "match": None, "fwer": None, "text": f"not looked up: {exc}",
                       "seconds": round(time.perf_counter() - t, 3), "relation": None}
            else:
                _store(index, int(rec.key or 0), digest, ans)
            out[rec.model_id] = ans
            if progress:
                progress(rec.model_id, ans)
    return out


def _accepted(ans: dict[str, Any], alpha: float) -> bool:
    if ans.get("answer") not in EDGE_ANSWERS or ans.get("match") is None:
        return False
    return ans.get("fwer") is None or float(ans["fwer"]) < alpha


def forest_edges(nodes: list[dict[str, Any]], answers: dict[str, dict[str, Any] | None], *,
                 alpha: float = ALPHA) -> list[dict[str, Any]]:
    """The graph's edges from each model's own answer (module docstring).

    Parameters
    ----------
    nodes : list of dict
        ``{"id", "group", ...}`` per model.
    answers : dict
        ``{model id: answer}`` as :func:`own_lookups` returns them.
    alpha : float, optional
        Family-wise error rate of an edge.

    Returns
    -------
    list of dict
        The edges (``parent``, ``child``, ``group``, ``relation``, ``directed``, ``confidence`` = 1 - FWER,
        ``fwer``, ``function_db``, ``distance``, ``edits``, ``direction_evidence``, ``claimed_by``: whose
        lookup gave it).
    """
    group_of = {n["id"]: n["group"] for n in nodes}
    named_parent = {m for m, a in answers.items() if a and a.get("answer") == "derived" and _accepted(a, alpha)}
    claims = []
    for me, ans in answers.items():
        if not ans or not _accepted(ans, alpha) or group_of.get(ans["match"]) != group_of.get(me):
            continue
        x = ans["match"]
        if ans["answer"] == "parent" and x in named_parent:
            continue  # X's own lookup names X's parent
        # (own answer first, then the most confident): a model's answer about itself outranks another's claim
        claims.append((ans["answer"] == "parent", ans.get("fwer") or 0.0, me, x, ans))
    uf = {i: i for i in group_of}
    edges, has_parent = [], set()
    for _, _, me, x, ans in sorted(claims, key=lambda c: c[:3]):
        parent, child = (me, x) if ans["answer"] == "parent" else (x, me)
        directed = ans["answer"] in ("derived", "parent")
        ra, rb = find_root(uf, me), find_root(uf, x)
        if ra == rb or (directed and child in has_parent):
            continue
        uf[ra] = rb
        if directed:
            has_parent.add(child)
        rel = {**(ans.get("relation") or {}), "relation": ans["answer"], "fwer": ans.get("fwer")}
        edges.append({**graph_edge(me, x, rel, group_of[me]), "claimed_by": me})
    return edges


def graph_edge(a: str, b: str, rel: dict[str, Any], group: str) -> dict[str, Any]:
    """One edge of the lineage graph from ``rel``, the relation of ``a`` to ``b`` as
    :meth:`~srprint.lineage.relate.Relation.to_dict` writes it (``relation``, ``fwer``, distances, evidence):
    ``a`` is the parent when ``rel`` says *parent*, the child otherwise; *derived* and *parent* are directed."""
    parent, child = (a, b) if rel["relation"] == "parent" else (b, a)
    fwer = rel.get("fwer")
    directed = rel["relation"] in ("derived", "parent")
    return {"parent": parent, "child": child, "group": group, "relation": "derived" if directed else rel["relation"],
            "directed": directed, "confidence": None if fwer is None else 1.0 - fwer,
            "fwer": fwer, "function_db": rel.get("function_db"), "distance": rel.get("distance"),
            "edits": rel.get("edits") or [], "direction_evidence": rel.get("direction_evidence") or []}
