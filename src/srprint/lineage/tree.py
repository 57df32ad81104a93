"""``srprint lineage tree``: the directed lineage graph of an index, with each edge's confidence.

Per ``(task, scale)`` group, every model's ``k`` nearest sketches are candidate edges; each candidate
pair is confirmed once (:func:`srprint.lineage.query.confirm`), at index time (:func:`link_index`, stored
by :mod:`srprint.lineage.graph`). Two ways to read the graph from there:

* ``source="lookups"`` (the default): each indexed model is looked up in its own index, itself left out,
  and its answer gives its edge (:mod:`srprint.lineage.forest`): the graph says what a lookup of each model
  says, with each edge's confidence ``1 - FWER`` the answer's own family-wise error rate over the group.
* ``source="pairs"``: related pairs (same model, derived, shared parent) whose family-wise error rate over
  all pairs of the group (Holm) is below ``alpha`` are kept; as in MoTHer, a minimum spanning forest over
  them (weight: the lineage distance ``1 - S``, then the function distance; closest first) keeps the
  tree's edges, and each kept edge is oriented as the stored relations are read
  (:func:`srprint.lineage.graph.oriented_relations`: each connected component away from its anchor, the
  anchor rule of a lookup; the pairwise rules of :func:`srprint.lineage.relate.direction` where a
  component has no anchor); a directed edge into a model that already has a parent is left out (one
  parent per model). An edge's confidence is ``1 - FWER``. Holm over every pair needs p-values the
  verdict's null cannot give in a large group (4 edges among 126 models on issue 28's benchmark).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from . import graph
from .familywise import find_root, holm
from .forest import forest_edges, graph_edge, own_lookups
from .query import confirm
from .store import LineageIndex, Record

DEFAULT_K = 3
ALPHA = 0.05  # family-wise error rate over the group (the verdict's per-pair level stays 1e-3)


def link_index(index_dir: Path, *, k: int = DEFAULT_K, alpha: float = ALPHA,
               progress: Callable[[str, int, float], None] | None = None) -> dict[str, Any]:
    """Confirm every indexed model against its ``k`` nearest sketches and store the relations and the
    chosen parents in the index (:mod:`srprint.lineage.graph`). A model already linked with at least
    ``k`` is skipped and a pair confirmed from either side is not confirmed again, so a run cut short
    resumes where it stopped (each model's confirmations are committed together).

    Parameters
    ----------
    index_dir : Path
        The lineage index folder.
    k : int
        Nearest sketches confirmed per model.
    alpha : float
        Family-wise error rate of a stored parent edge.
    progress : callable, optional
        Called with ``(model id, pairs confirmed, seconds)`` after each model.

    Returns
    -------
    dict
        ``{"linked": models linked now, "pairs": pairs confirmed now, "seconds": [per pair]}``.

    Raises
    ------
    SrprintError
        The index is missing or corrupt.
    """
    from ..verification.fingerprint import load_entry_model
    from ..verification.ownership import memoised
    from .query import candidate_references, suspect_profile

    index = LineageIndex(index_dir)
    graph.ensure_schema(index)
    load = memoised(load_entry_model)
    done_models, secs = 0, []
    for group in index.groups():
        recs = index.records(group)
        linked = graph.linked_keys(index)
        for r in recs:
            if linked.get(int(r.key or 0), -1) >= k or not r.path or not Path(r.path).is_dir():
                continue
            known = graph.known_pairs(index)
            near = [(o, d) for o, d in index.nearest(group, r.sketch, k + 1) if o.key != r.key][:k]
            todo = [(o, d) for o, d in near if frozenset((r.key, o.key)) not in known]
            t = time.perf_counter()
            rels = []
            if todo:
                prof = suspect_profile(_load_entry(r))
                memo: dict[Any, Any] = {}
                for o, d in todo:
                    rel = confirm(prof, o, d, load=load, references=candidate_references(o, recs, exclude={r.key}),
                                  cache=memo)
                    if rel is not None:
                        rels.append((int(o.key or 0), rel))
                        secs.append(rel.seconds)
            graph.store_links(index, int(r.key or 0), k, rels)
            done_models += 1
            if progress is not None:
                progress(r.model_id, len(rels), time.perf_counter() - t)
        graph.recompute_parents(index, group, alpha=alpha)
    return {"linked": done_models, "pairs": len(secs), "seconds": secs}


def lineage_tree(index_dir: Path, *, k: int = DEFAULT_K, alpha: float = ALPHA, source: str = "lookups",
                 progress: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The lineage graph of the index at ``index_dir``: ``{"nodes": [...], "edges": [...]}``.

    Parameters
    ----------
    index_dir : Path
        The lineage index folder (models not yet linked with ``k`` are linked first, :func:`link_index`).
    k : int
        Nearest sketches confirmed per model when linking.
    alpha : float
        Family-wise error rate of an edge.
    source : {"lookups", "pairs"}
        ``lookups`` (default): each model's own lookup, itself left out, gives its edge
        (:mod:`srprint.lineage.forest`; the answers are stored in the index and reused). ``pairs``: the pairs
        confirmed at index time, Holm over every pair of a group and a minimum spanning forest
        (:func:`assemble`; fast, but it keeps few edges in a large group).
    progress : callable, optional
        ``(model id, answer)`` after each lookup run now (``source="lookups"``).

    Raises
    ------
    SrprintError
        The index is missing or corrupt, or ``source`` is unknown.
    """
    if source not in ("lookups", "pairs"):
        raise SrprintError(f"unknown tree source {source!r} (lookups or pairs)")
    link_index(index_dir, k=k, alpha=alpha)
    index = LineageIndex(index_dir)
    nodes: list[dict[str, Any]] = []
    pairs: list[tuple[str, str, dict[str, Any]]] = []
    for group in index.groups():
        recs = index.records(group)
        nodes += [node_of(r) for r in recs]
        if source == "lookups":
            continue
        by_key = {r.key: r.model_id for r in recs}
        seen: set[frozenset[int]] = set()
        for key, rels in graph.oriented_relations(index, group, alpha=alpha).items():
            for other, rel in rels:
                if frozenset((key, other)) not in seen:
                    seen.add(frozenset((key, other)))
                    pairs.append((by_key[key], rel.candidate, rel.to_dict()))
    if source == "lookups":
        edges = forest_edges(nodes, own_lookups(index_dir, progress=progress), alpha=alpha)
    else:
        edges = assemble(nodes, pairs, alpha=alpha)
    return {"nodes": nodes, "edges": edges, "k": k, "alpha": alpha, "source": source}


def node_of(rec: Record) -> dict[str, Any]:
    """A graph node: the record's id, group, architecture and declared metadata."""
    return {"id": rec.model_id, "group": rec.group, "arch": rec.arch, "licence": rec.licence,
            "declared_parent": rec.declared_parent}


def _accepted(rel: dict[str, Any], alpha: float) -> bool:
    if rel.get("relation") in (None, "unrelated"):
        return False
    if rel.get("fwer") is None:
        return rel.get("verdict") in ("copy", "identical weights")
    return float(rel["fwer"]) < alpha


def _closeness(rel: dict[str, Any]) -> tuple[float, float]:
    d = rel.get("distance")
    fdb = rel.get("function_db")
    return (-1.0 if d is None else float(d), -min(float("inf") if fdb is None else float(fdb), 1e9))


def assemble(nodes: list[dict[str, Any]], pairs: list[tuple[str, str, dict[str, Any]]], *,
             alpha: float = ALPHA) -> list[dict[str, Any]]:
    """The graph's edges from confirmed pairs (module docstring): Holm over all pairs of each group,
    then a minimum spanning forest of the accepted ones, closest first, each edge oriented by its relation.

    Parameters
    ----------
    nodes : list of dict
        ``{"id", "group", ...}`` per model (every model of a group is a hypothesis in Holm).
    pairs : list of (str, str, dict)
        ``(suspect id, candidate id, relation)``: each confirmed pair once, the relation as
        :meth:`srprint.lineage.relate.Relation.to_dict` writes it.
    alpha : float, optional
        Family-wise error rate of an edge.

    Returns
    -------
    list of dict
        The edges: parent, child, relation, directed, confidence (``1 - FWER``), evidence.
    """
    group_of = {n["id"]: n["group"] for n in nodes}
    size: dict[str, int] = {}
    for n in nodes:
        size[n["group"]] = size.get(n["group"], 0) + 1
    edges = []
    for group, n in size.items():
        items = [(a, b, dict(rel)) for a, b, rel in pairs if group_of.get(a) == group and group_of.get(b) == group]
        m = max(n * (n - 1) // 2, 1)
        for (_, _, rel), fw in zip(items, holm([rel.get("p_value") for _, _, rel in items], m), strict=True):
            rel["fwer"] = fw
        kept = sorted((t for t in items if _accepted(t[2], alpha)), key=lambda t: _closeness(t[2]))
        uf = {i: i for i, g in group_of.items() if g == group}
        has_parent: set[str] = set()
        for a, b, rel in kept:  # a was the suspect, b the indexed candidate
            ra, rb = find_root(uf, a), find_root(uf, b)
            edge = graph_edge(a, b, rel, group)
            if ra == rb or (edge["directed"] and edge["child"] in has_parent):
                continue  # a cycle, or a second parent
            uf[ra] = rb
            if edge["directed"]:
                has_parent.add(edge["child"])
            edges.append(edge)
    return edges


def _load_entry(rec: Record) -> Any:
    from ..zoo.entry import ZooEntry

    return ZooEntry.load(rec.path)


def _layout(ids: list[str], edges: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Tidy positions: each tree drawn from its roots (models without a parent edge) to the right, a
    leaf per row, a parent at the middle of its children's rows; the trees stacked in id order."""
    children: dict[str, list[str]] = {}
    has_parent = set()
    for e in edges:
        children.setdefault(e["parent"], []).append(e["child"])
        has_parent.add(e["child"])
    pos: dict[str, tuple[float, float]] = {}
    row = [0.0]

    def place(node: str, depth: int) -> float:
        kids = [c for c in sorted(children.get(node, [])) if c not in pos]
        pos[node] = (float(depth), 0.0)  # claimed before the children: a cycle cannot recurse forever
        ys = [place(c, depth + 1) for c in kids]
        y = sum(ys) / len(ys) if ys else row[0]
        if not ys:
            row[0] += 1.0
        pos[node] = (float(depth), y)
        return y

    for root in sorted(i for i in ids if i not in has_parent):
        if root not in pos:
            place(root, 0)
            row[0] += 0.5  # a gap between trees
    for i in ids:  # anything left (only in a cycle of edges)
        if i not in pos:
            place(i, 0)
    return pos


def tree_png(tree: dict[str, Any], *, isolated: bool = True, title: str = "") -> bytes:
    """PNG bytes of the graph: models as labelled boxes, each tree from its roots to the right, arrows
    parent -> child (a plain line where the direction is unknown) labelled with their confidence
    ``1 - FWER``. ``isolated=False`` leaves out the models with no edge (counted in the title)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    linked = {e["parent"] for e in tree["edges"]} | {e["child"] for e in tree["edges"]}
    ids = [n["id"] for n in tree["nodes"] if isolated or n["id"] in linked]
    left_out = len(tree["nodes"]) - len(ids)
    pos = _layout(ids, [e for e in tree["edges"] if e["parent"] in ids and e["child"] in ids])
    depth = max((x for x, _ in pos.values()), default=0.0)
    height = max((y for _, y in pos.values()), default=1.0)
    fig, ax = plt.subplots(figsize=(3 + 3.2 * (depth + 1), max(3.0, 0.3 * (height + 1))))
    for e in tree["edges"]:
        if e["parent"] not in pos or e["child"] not in pos:
            continue
        (x0, y0), (x1, y1) = pos[e["parent"]], pos[e["child"]]
        color = "tab:blue" if e["directed"] else "tab:orange"
        ax.annotate("", xy=(x1, -y1), xytext=(x0, -y0),
                    arrowprops={"arrowstyle": "->" if e["directed"] else "-", "color": color, "lw": 0.8,
                                "shrinkA": 22, "shrinkB": 22})
        conf = "" if e["confidence"] is None else f"{e['confidence']:.3f}"
        ax.text((x0 + x1) / 2, -(y0 + y1) / 2 + 0.15, conf, fontsize=5, color=color, ha="center")
    for i, (x, y) in pos.items():
        ax.text(x, -y, i, fontsize=5.5, ha="center", va="center",
                bbox={"boxstyle": "round", "fc": "white", "ec": "grey", "lw": 0.5})
    ax.set_xlim(-0.6, depth + 0.6)
    ax.set_ylim(-height - 0.8, 0.8)
    ax.set_axis_off()
    head = title or "lineage graph"
    tail = f"; {left_out} models without an edge not drawn" if left_out else ""
    ax.set_title(f"{head}: {len(tree['nodes'])} models, {len(tree['edges'])} edges (arrow: derived, line: "
                 f"direction unknown; label: 1 - FWER){tail}", fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def draw_tree(tree: dict[str, Any], path: Path, *, isolated: bool = True) -> Path:
    """Write :func:`tree_png` of the graph to ``path``."""
    Path(path).write_bytes(tree_png(tree, isolated=isolated))
    return path
