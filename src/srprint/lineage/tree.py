"""``srprint lineage tree``: the directed lineage graph of an index, with each edge's confidence.

Per ``(task, scale)`` group, every model's ``k`` nearest sketches are candidate edges; each candidate
pair is confirmed once (:func:`srprint.lineage.query.confirm`). Related pairs (same model, derived,
shared parent) whose family-wise error rate over all pairs of the group (Holm) is below ``alpha`` are
kept; as in MoTHer, a minimum spanning forest over them (weight: the lineage distance ``1 - S``, then
the function distance; closest first) keeps the tree's edges, and each kept edge is oriented by the direction rules
(:func:`srprint.lineage.relate.direction`). An edge's confidence is ``1 - FWER``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .query import accepted, confirm
from .relate import holm
from .store import LineageIndex, Record

DEFAULT_K = 3
ALPHA = 0.05  # family-wise error rate over the group (the verdict's per-pair level stays 1e-3)


def _find(parent: dict[int, int], a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def lineage_tree(index_dir: Path, *, k: int = DEFAULT_K, alpha: float = ALPHA) -> dict[str, Any]:
    """The lineage graph of the index at ``index_dir``: ``{"nodes": [...], "edges": [...]}``.

    Raises
    ------
    SrprintError
        The index is missing or corrupt.
    """
    from ..verification.fingerprint import load_entry_model
    from ..verification.ownership import memoised
    from .query import candidate_references, suspect_profile

    index = LineageIndex(index_dir)
    load = memoised(load_entry_model)
    nodes, edges = [], []
    for group, size in index.groups().items():
        recs = index.records(group)
        nodes += [{"id": r.model_id, "group": group, "arch": r.arch, "licence": r.licence,
                   "declared_parent": r.declared_parent} for r in recs]
        pairs: dict[tuple[int, int], Any] = {}
        for r in recs:
            if not r.path or not Path(r.path).is_dir():
                continue
            near = [(o, d) for o, d in index.nearest(group, r.sketch, k + 1) if o.key != r.key][:k]
            todo = [(o, d) for o, d in near if (min(r.key, o.key), max(r.key, o.key)) not in pairs]
            if not todo:
                continue
            prof = suspect_profile(_load_entry(r))
            memo: dict[Any, Any] = {}
            for o, d in todo:
                refs = candidate_references(index, o, recs, exclude={r.key})
                rel = confirm(prof, o, d, load=load, references=refs, cache=memo)
                pairs[(min(r.key, o.key), max(r.key, o.key))] = (r, o, rel)
        items = [(a, b, rel) for a, b, rel in pairs.values() if rel is not None]
        m = max(size * (size - 1) // 2, 1)
        for (_, _, rel), fw in zip(items, holm([rel.p_value for _, _, rel in items], m), strict=True):
            rel.fwer = fw
        kept = [(a, b, rel) for a, b, rel in items if accepted(rel, alpha)]
        kept.sort(key=lambda t: t[2].closeness())
        uf = {r.key: r.key for r in recs}
        for a, b, rel in kept:  # a was the suspect, b the indexed candidate
            ra, rb = _find(uf, a.key), _find(uf, b.key)
            if ra == rb:
                continue
            uf[ra] = rb
            edges.append(_edge(a, b, rel, group))
    return {"nodes": nodes, "edges": edges, "k": k, "alpha": alpha}


def _load_entry(rec: Record) -> Any:
    from ..zoo.entry import ZooEntry

    return ZooEntry.load(rec.path)


def _edge(a: Record, b: Record, rel: Any, group: str) -> dict[str, Any]:
    if rel.relation == "derived":
        parent, child = b, a
    elif rel.relation == "parent":
        parent, child = a, b
    else:
        parent, child = b, a
    directed = rel.relation in ("derived", "parent")
    conf = None if rel.fwer is None else 1.0 - rel.fwer
    return {"parent": parent.model_id, "child": child.model_id, "group": group, "relation": rel.relation,
            "directed": directed, "confidence": conf, "fwer": rel.fwer, "function_db": rel.function_db,
            "edits": rel.edits, "direction_evidence": rel.direction_evidence}


def draw_tree(tree: dict[str, Any], path: Path) -> Path:
    """Draw the graph (models as nodes in layers from the roots, arrows parent -> child labelled with
    their confidence) to the PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    children: dict[str, list[str]] = {}
    has_parent = set()
    for e in tree["edges"]:
        children.setdefault(e["parent"], []).append(e["child"])
        has_parent.add(e["child"])
    ids = [n["id"] for n in tree["nodes"]]
    depth: dict[str, int] = {}
    for root in [i for i in ids if i not in has_parent]:
        stack = [(root, 0)]
        while stack:
            node, d = stack.pop()
            if node in depth:
                continue
            depth[node] = d
            stack += [(c, d + 1) for c in children.get(node, [])]
    layers: dict[int, list[str]] = {}
    for i in ids:
        layers.setdefault(depth.get(i, 0), []).append(i)
    pos = {i: (d, -j) for d, members in layers.items() for j, i in enumerate(members)}
    height = max((len(v) for v in layers.values()), default=1)
    fig, ax = plt.subplots(figsize=(4 + 3.5 * len(layers), max(3.0, 0.32 * height)))
    for e in tree["edges"]:
        (x0, y0), (x1, y1) = pos[e["parent"]], pos[e["child"]]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->" if e["directed"] else "-", "color": "tab:blue", "lw": 0.8})
        conf = "" if e["confidence"] is None else f"{e['confidence']:.3f}"
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, conf, fontsize=6, color="tab:blue")
    for i, (x, y) in pos.items():
        ax.text(x, y, i, fontsize=6, ha="center", va="center",
                bbox={"boxstyle": "round", "fc": "white", "ec": "grey", "lw": 0.5})
    ax.set_axis_off()
    ax.set_title(f"lineage graph: {len(ids)} models, {len(tree['edges'])} edges (label: 1 - FWER)", fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
