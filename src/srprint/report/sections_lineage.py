"""The lineage section: the ``lineage`` result table (``bench/lineage.py``): each measured rate against
its target, and the directed lineage graph of the benchmark population drawn from the table's ``tree``
(nodes and edges as ``srprint lineage tree`` writes them)."""

from __future__ import annotations

from typing import Any

from .section import Section
from .tables import ResultTables, add_table, as_dict, as_list, command_for, dict_rows, fixed, sci

TITLE = "Lineage: which known model is this checkpoint?"


def _rate(r: dict[str, Any]) -> str:
    k, n, ci = r.get("k"), r.get("n"), as_list(r.get("ci95"))
    if not isinstance(n, int) or not n:
        return "-"
    interval = f" (95 % CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f} %)" if len(ci) == 2 else ""
    return f"{k}/{n}{interval}"


def _lineage(part: Section, data: dict[str, Any]) -> None:
    rows = [[r.get("population", "all"), r.get("measure"), _rate(r) if "n" in r else r.get("value", "-"),
             r.get("target") or "", {True: "met", False: "not met"}.get(r.get("met"), "")]
            for r in dict_rows(data.get("headline"))]
    if rows:
        part.tables.append({"caption": "lineage lookups of the benchmark population (a target is met when the "
                                       "lower end of the 95 % interval clears it)",
                            "columns": ["population", "measure", "result", "target", ""], "rows": rows})
    tree = as_dict(data.get("tree"))
    nodes, edges = dict_rows(tree.get("nodes")), dict_rows(tree.get("edges"))
    if nodes:
        from ..lineage.tree import tree_png

        png = tree_png({"nodes": nodes, "edges": edges}, isolated=False, title="the benchmark population")
        part.figures.append({"caption": f"directed lineage graph of the benchmark population ({len(nodes)} models, "
                                        f"{len(edges)} edges at FWER < {tree.get('alpha', '?')}); "
                                        f"{tree.get('note', '')}", "png": png})
    if edges:
        part.tables.append({"caption": "the graph's edges", "collapsed": len(edges) > 12,
                            "columns": ["parent", "child", "relation", "confidence", "1 - S", "evidence"],
                            "rows": [[e.get("parent"), e.get("child"), e.get("relation"), fixed(e.get("confidence"), 4),
                                      sci(e.get("distance")), "; ".join(map(str, as_list(e.get("direction_evidence"))))]
                                     for e in edges]})


def lineage_section(tables: ResultTables | None) -> Section:
    """The lineage section from the ``lineage`` table (its command when the table is missing)."""
    sec = Section("lineage", TITLE, ran=False, command=command_for("lineage"))
    if tables is not None:
        add_table(sec, tables, "lineage", _lineage)
    return sec
