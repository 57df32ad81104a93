"""The scored lineage queries (``bench/lineage.py``'s v7 run) chosen again with the anchor direction rule (issue 28).

**Post hoc**: the anchor rule (``srprint.lineage.orient``) was written after reading the v7 rows' wrong
directions, and validated on dev families only (``bench/lineage_dev_direction.py``). The confirmations of a
query do not depend on the choice, so no query is run again: the v7 rows are written back as the per-query
files (``bench/lineage_seed_queries.py``) and re-chosen here, beside v7 as committed, on the same queries.

Four columns, each scored on all / fresh / dev items with Wilson 95 % intervals:

* **v7 as committed**: the answers in ``bench/results/lineage.json`` (its own stored parents);
* **v7 rules, pairwise stored parents**: the same confirmations chosen by the v7 rules with the stored parents
  chosen from the index-time pairs linked on this machine, each pair as its confirmation oriented it (the
  index-time rule before the anchor rule);
* **anchor rule at query time, pairwise stored parents**: as the previous column, with the accepted relatives
  oriented by the anchor rule first (the index's statistics, as ``bench/lineage.py`` passes them to
  ``rechoose``): the previous version of this page;
* **anchor rule at query time and index time**: as the previous column, with the stored parents chosen after
  each connected component of the index-time relations is oriented away from its anchor
  (``srprint.lineage.graph.oriented_relations``: what ``link_index`` stores now).

The stored graph itself is scored against the population's true parent edges both ways (how many it holds,
which way round, the precision of the stored parents), as is the graph ``srprint lineage tree`` draws from it.
The paired table counts the queries whose answer turned right or wrong between two columns. The rebuilt
population is checked against v7: every held-out quality printed in v7's direction evidence (2 decimals)
against the index rebuilt here, and the function distance of every index-time pair confirmed in both runs.

Writes ``bench/results/lineage_anchor.{json,md}``. Needs the population, the index and its index-time
links under ``$SRPRINT_HOME/bench/lineage`` (``bench/lineage.py --link-only``) and the
seeded answers. A partial linking is reported as such (its parents recomputed from the pairs stored so far).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, write_results  # noqa: E402
from _lineage_report import LINKS, _w, population_tree, rechoose, score, stored_parents_score  # noqa: E402
from lineage import (  # noqa: E402
    INDEX,
    LINK_K,
    REUPLOADS,
    ROOTS,
    build_population,
    link_summary,
    pair_distances,
    run_queries,
    stored_pairs,
)

MEASURES = (("reupload", "re-uploads found as the same model"), ("parent_precision", "parent precision"),
            ("parent_recall", "parent recall"), ("direction", "direction of right links"),
            ("false_links_independent", "independent models with a false link"))
HELDOUT = re.compile(r"\((-?\d+\.\d\d) vs (-?\d+\.\d\d) dB\)")


def right(row: dict[str, Any]) -> tuple[bool, bool]:
    """``(right link, right link in the right direction)`` of a derived or root row."""
    if row["kind"] == "derived":
        ok = row["answer"] in LINKS and row["match"] == row["expect"]
        return ok, ok and row["answer"] == "derived"
    ok = row["answer"] in LINKS and row["match"] in row["children"]
    return ok, ok and row["answer"] == "parent"


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Queries whose answer changed from ``a`` to ``b`` (same order), and which turned right or wrong."""
    out: dict[str, Any] = {"changed": 0, "link_to_right": [], "link_to_wrong": [], "direction_to_right": [],
                           "direction_to_wrong": [], "changes": []}
    for x, y in zip(a, b, strict=True):
        if (x["answer"], x["match"]) == (y["answer"], y["match"]):
            continue
        out["changed"] += 1
        out["changes"].append(f"{x['kind']} {x['name']}: {x['answer']} {x['match']} -> {y['answer']} {y['match']}")
        if x["kind"] in ("derived", "root"):
            (lx, dx), (ly, dy) = right(x), right(y)
            for key, was, now in (("link", lx, ly), ("direction", dx, dy)):
                if was != now:
                    out[f"{key}_to_{'right' if now else 'wrong'}"].append(f"{x['kind']} {x['name']}")
    return out


def rebuild_check(committed: list[dict[str, Any]], stats: dict[str, dict[str, Any]],
                  pairs: list[tuple[str, str, dict[str, Any]]], v7_edges: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the rebuilt models are v7's: held-out qualities (2 decimals) and function distances."""
    same = differ = 0
    examples = []
    for row in committed:
        for rel in row.get("relations") or []:
            for ev in rel.get("direction_evidence") or []:
                m = HELDOUT.search(ev)
                if m is None or row["id"] not in stats or rel["candidate"] not in stats:
                    continue
                for mid, printed in ((row["id"], m.group(1)), (rel["candidate"], m.group(2))):
                    ok = f"{float(stats[mid].get('heldout_db', 'nan')):.2f}" == printed
                    same, differ = same + ok, differ + (not ok)
                    if not ok and len(examples) < 5:
                        examples.append(f"{mid}: v7 {printed}, here {stats[mid].get('heldout_db')}")
    here = {frozenset((a, b)): rel.get("function_db") for a, b, rel in pairs}
    gaps = [abs(float(here[k]) - float(e["function_db"])) for e in v7_edges
            if (k := frozenset((e["parent"], e["child"]))) in here and here[k] is not None
            and e.get("function_db") is not None and abs(float(e["function_db"])) != float("inf")]
    return {"heldout_db_equal": same, "heldout_db_differ": differ, "examples": examples,
            "function_db_pairs_compared": len(gaps), "function_db_max_abs_gap": max(gaps) if gaps else None}


def parents_both_ways(ix: Any) -> dict[str, dict[str, str]]:
    """The stored parents chosen from the index-time pairs two ways, without writing them: ``pairwise`` (each
    pair as its confirmation oriented it: the rule before) and ``anchor`` (each connected component oriented
    away from its anchor: ``graph.oriented_relations``, what ``link_index`` stores now)."""
    from srprint.lineage import graph

    out: dict[str, dict[str, str]] = {"pairwise": {}, "anchor": {}}
    for g in ix.groups():
        ids = {r.key: r.model_id for r in ix.records(g)}
        for name, read in (("pairwise", graph.stored_relations), ("anchor", graph.oriented_relations)):
            out[name].update({ids[c]: ids[p] for c, (p, _) in graph.parents_from(read(ix, g)).items()})
    return out


def main(argv: list[str] | None = None) -> int:
    from srprint.config import srprint_home
    from srprint.lineage import graph
    from srprint.lineage.store import LineageIndex
    from srprint.lineage.tree import node_of
    from srprint.verification.null_cache import STATISTIC_VERSION

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", default="queries-v7")
    args = ap.parse_args(argv)
    state = srprint_home() / "bench" / "lineage"
    index = state / f"{INDEX}-{len(ROOTS)}"
    pop = build_population(state, len(ROOTS), build=False)
    committed_all = json.loads((RESULTS / "lineage.json").read_text())
    committed = {(r["kind"], r["name"]): r for r in committed_all["rows"] if "not_run" not in r}
    ix = LineageIndex(index)
    linking = link_summary(index, state / f"{INDEX}-{len(ROOTS)}-link.jsonl", LINK_K)
    complete = linking["models_linked"] == sum(len(ix.records(g)) for g in ix.groups())
    both = parents_both_ways(ix)
    in_index = graph.parents(ix)  # what link_index stored (anchor-oriented since this change)
    stats = {r.model_id: r.stats for g in ix.groups() for r in ix.records(g)}
    for_row = pair_distances(index)
    raw = [r for r in run_queries(state, pop, index, deadline=0.0, n_confirm=3, queries=args.queries)
           if "not_run" not in r and (r["kind"], r["name"]) in committed]
    v7 = [{**r, "answer": committed[(r["kind"], r["name"])]["answer"],
           "match": committed[(r["kind"], r["name"])]["match"]} for r in raw]
    v7_here = [rechoose(r, both["pairwise"], distance=for_row(r["path"])) for r in raw]
    anchor_pw = [rechoose(r, both["pairwise"], distance=for_row(r["path"]), stats=stats) for r in raw]
    anchor = [rechoose(r, both["anchor"], distance=for_row(r["path"]), stats=stats) for r in raw]
    cols = {"v7 as committed": v7, "v7 rules, pairwise stored parents": v7_here,
            "anchor rule at query time, pairwise stored parents (post hoc)": anchor_pw,
            "anchor rule at query time and index time (post hoc)": anchor}
    scores = {name: {part: score([r for r in rows if part == "all" or r["dev"] == (part == "dev")], pop,
                                 tuple(REUPLOADS)) for part in ("all", "fresh", "dev")}
              for name, rows in cols.items()}
    nodes = [node_of(r) for g in ix.groups() for r in ix.records(g)]
    trees = {name: population_tree(stored_pairs(index, anchor=name == "anchor"), nodes, pop)
             for name in ("pairwise", "anchor")}
    v7_edges = {(e["parent"], e["child"], e["directed"]) for e in committed_all["tree"]["edges"]}
    pw_edges = {(e["parent"], e["child"], e["directed"]) for e in trees["pairwise"]["edges"]}
    res = {"post_hoc": True, "statistic_version": STATISTIC_VERSION, "queries": args.queries,
           "n_queries": len(raw), "linking_here": linking, "linking_complete": complete,
           "linking_v7": committed_all["linking"], "stored_parents_v7": committed_all["linking"]["parents_stored"],
           "stored_parents": {name: stored_parents_score(p, pop) for name, p in both.items()},
           "stored_parents_in_index_equal_anchor": in_index == both["anchor"],
           "index_graph": {name: t["score"] for name, t in trees.items()},
           "index_graph_v7": committed_all["tree"]["score"],
           "pairwise_graph_equals_v7": {"equal": pw_edges == v7_edges,
                                        "only_here": sorted(map(list, pw_edges - v7_edges)),
                                        "only_v7": sorted(map(list, v7_edges - pw_edges))},
           "v7_tree_edges_here": v7_edges_here(committed_all["tree"]["edges"], stored_pairs(index, anchor=False),
                                               trees["pairwise"]["edges"]),
           "scores": scores,
           "paired": {"v7 as committed -> anchor rule at both times": paired(v7, anchor),
                      "anchor rule at query time -> at both times": paired(anchor_pw, anchor),
                      "v7 rules here -> anchor rule at query time": paired(v7_here, anchor_pw),
                      "v7 as committed -> v7 rules here": paired(v7, v7_here)},
           "rebuild_check": rebuild_check(list(committed.values()), stats, stored_pairs(index, anchor=False),
                                          committed_all["tree"]["edges"]),
           "rows": [{k: r.get(k) for k in ("kind", "name", "dev", "expect", "answer", "match", "answer_as_run",
                                           "match_as_run", "text")} for r in anchor]}
    write_results("lineage_anchor", res, markdown(res))
    print(markdown(res))
    return 0


def v7_edges_here(v7_edges: list[dict[str, Any]], pairs: list[tuple[str, str, dict[str, Any]]],
                  tree_here: list[dict[str, Any]]) -> dict[str, Any]:
    """v7's tree edges against the same pairs linked here: each one's FWER in v7 and p-value here, and how
    many of them the pairwise tree here keeps (either way round)."""
    here = {frozenset((a, b)): rel for a, b, rel in pairs}
    kept = {frozenset((e["parent"], e["child"])) for e in tree_here}
    rows = [{"parent": e["parent"], "child": e["child"], "fwer_v7": e.get("fwer"),
             "p_here": (here.get(frozenset((e["parent"], e["child"]))) or {}).get("p_value"),
             "verdict_here": (here.get(frozenset((e["parent"], e["child"]))) or {}).get("verdict"),
             "in_tree_here": frozenset((e["parent"], e["child"])) in kept} for e in v7_edges]
    return {"n": len(rows), "in_tree_here": sum(r["in_tree_here"] for r in rows),
            "copy_here": sum(r["verdict_here"] == "copy" for r in rows), "rows": rows}


def _graph_line(name: str, g: dict[str, Any]) -> str:
    return (f"{name}: {g['edges']} edges, true edges found {_w(g['true_edges_found'])}, precision "
            f"{_w(g['edge_precision'])}, direction of the true edges found {_w(g['direction_of_true_edges'])} "
            f"({g['true_edges_undirected']} undirected), across families {g['edges_across_families']}")


def markdown(res: dict[str, Any]) -> str:
    """The results page."""
    cols = list(res["scores"])
    lk, sv = res["linking_here"], res["statistic_version"]
    md = ["# Lineage v7 queries re-chosen with the anchor direction rule (issue 28)", "",
          "**Post hoc**: the anchor rule (`srprint.lineage.orient`) was written after reading v7's scored rows "
          "(their wrong directions); it was validated on dev families only (`lineage_dev_direction.md`). No query "
          f"ran again: the {res['n_queries']} v7 rows of `lineage.json` were written back as the per-query files "
          "(`bench/lineage_seed_queries.py`) and chosen again (`bench/lineage_anchor_rescore.py`).", "",
          "**What changed since the previous version of this page**: (1) the index was linked again under "
          f"verification {sv}, the current statistic (the previous page's links were made under v3.6, since "
          "withdrawn); (2) the index-time graph now orients each connected component of its stored relations away "
          "from the component's anchor, by the same rule a lookup uses (`graph.oriented_relations`, "
          "`orient.by_component`), so the stored parents and `srprint lineage tree` follow it; the last column "
          "re-chooses with those stored parents. The rule was written after reading v7's rows (post hoc); at index "
          "time it is applied unchanged (no threshold set on these rows).", "",
          f"Index-time links on this machine (verification {sv}): {lk['models_linked']} models linked, "
          f"{lk['pairs']} pairs (v7: {res['linking_v7']['models_linked']} models, {res['linking_v7']['pairs']} "
          f"pairs, {res['stored_parents_v7']} stored parents)" + ("." if res["linking_complete"] else
                                                                 " **linking incomplete: parents from the pairs "
                                                                 "stored so far**."),
          f"Linking here: {lk['model_s']['total']} s over {lk['model_s']['n']} models (one thread, beside other "
          "jobs on 2 cores; empty null cache). The anchor rule (`lineage/orient.py`): of the related models of one "
          "layout (a lookup: the suspect and its accepted relatives; the index: a connected component of accepted "
          "relations), the best restorer of the held-out photo (all trained, leading by 0.02 dB) is the anchor; of "
          "two related models the one nearer it in weights is the parent; storage grid and zeros first.", "",
          "## The stored graph against the population's true parent edges", "",
          "Stored parents (`graph.parents`, at most one per model; what a lookup's walk and choice read), chosen "
          "from the same index-time pairs two ways (stored in the index now: anchor-oriented; equal to the "
          f"in-memory choice: {res['stored_parents_in_index_equal_anchor']}):", "",
          "| measure | pairwise (before) | anchor-oriented (now) |", "|---|---|---|"]
    sp, vt = res["stored_parents"], res["v7_tree_edges_here"]
    ex = "; ".join(f"{r['parent']} - {r['child']}: v7 FWER {r['fwer_v7']:.2g}, here p {r['p_here']:.2g}"
                   for r in sorted((r for r in vt["rows"] if r["p_here"] is not None and r["fwer_v7"] is not None
                                    and not r["in_tree_here"]), key=lambda r: r["fwer_v7"])[:2]) or "none"
    for key, label in (("true_edges_held", "true edges held (either way round)"),
                       ("true_edges_right_way", "true edges held the right way round"),
                       ("direction_of_held_edges", "direction of the held true edges"),
                       ("precision_either_way", "stored parents on a true edge (either way)"),
                       ("precision_right_way", "stored parents that are the true parent")):
        md.append(f"| {label} | {_w(sp['pairwise'][key])} | {_w(sp['anchor'][key])} |")
    md += [f"| stored parents | {sp['pairwise']['stored_parents']} | {sp['anchor']['stored_parents']} |",
           f"| stored parents across families | {sp['pairwise']['across_families']} | "
           f"{sp['anchor']['across_families']} |", "",
           "Held the wrong way round: pairwise " + (", ".join(sp["pairwise"]["turned_round"]) or "none")
           + "; anchor-oriented " + (", ".join(sp["anchor"]["turned_round"]) or "none") + ".", "",
           "The index-time graph (`srprint lineage tree`: Holm over all pairs of the group, spanning forest, one "
           "parent per model; scored as in `lineage.md`): "
           + "; ".join(_graph_line(n, g) for n, g in (("pairwise", res["index_graph"]["pairwise"]),
                                                      ("anchor-oriented", res["index_graph"]["anchor"]),
                                                      ("v7 as committed (pairwise)", res["index_graph_v7"])))
           + f". Pairwise graph here equal to v7's: {res['pairwise_graph_equals_v7']['equal']}.", "",
           f"Why the pairwise tree here is not v7's: v7's stored graph is not a {sv} linking. It is the v4 run's "
           "(linked 12:49-13:17 UTC on 2026-12-06 with the verification of then and its older reference pool; "
           "`lineage.md`'s v6 and v7 notes: \"the same v4 index and stored graph\"), so this is the population's "
           f"first index-time linking under {sv} with the current reference pool (every other indexed model of the "
           f"group). Same {lk['pairs']} pairs, larger p-values: of v7's {vt['n']} tree edges, {vt['copy_here']} are "
           f"still *copy* here but {vt['in_tree_here']} stay in the tree, whose Holm runs over all pairs of the group "
           f"(m = 126 x 125 / 2 = 7875), e.g. {ex}. The stored parents (Holm over one model's confirmations, "
           "m = 126) are as many as v7's and give the same lookup answers (paired table: v7 as committed -> v7 rules "
           "here).", ""]
    for part in ("all", "fresh", "dev"):
        md += [f"## Lookups re-chosen: {part}", "", "| measure | " + " | ".join(cols) + " |",
               "|---" * (len(cols) + 1) + "|"]
        for key, label in MEASURES:
            md.append(f"| {label} | " + " | ".join(_w(res["scores"][c][part][key]) for c in cols) + " |")
        md.append("")
    md += ["## Paired changes", "", "| columns | answers changed | link turned right / wrong | "
           "direction turned right / wrong |", "|---|---|---|---|"]
    for name, p in res["paired"].items():
        md.append(f"| {name} | {p['changed']} | {len(p['link_to_right'])} / {len(p['link_to_wrong'])} | "
                  f"{len(p['direction_to_right'])} / {len(p['direction_to_wrong'])} |")
    for name in ("anchor rule at query time -> at both times", "v7 as committed -> anchor rule at both times"):
        md += ["", f"Changes, {name}:", ""]
        md += [f"- {c}" for c in res["paired"][name]["changes"]] or ["- none"]
    rc = res["rebuild_check"]
    md += ["", f"Rebuild check: held-out qualities printed in v7's evidence equal here {rc['heldout_db_equal']}, "
           f"differ {rc['heldout_db_differ']}; function distance of {rc['function_db_pairs_compared']} index-time "
           f"pairs confirmed in both runs: max gap {rc['function_db_max_abs_gap']} dB.", ""]
    return "\n".join(md)


if __name__ == "__main__":
    raise SystemExit(main())
