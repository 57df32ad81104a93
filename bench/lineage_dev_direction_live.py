"""Dev check, live (issue 28): ``bench/lineage_dev_fwer.py``'s lookups run again through the library as it
stands (``query.query_file`` orients its accepted relatives by the anchor rule, ``lineage/orient.py``), its
table written as ``bench/results/lineage_dev_direction_live.{json,md}`` (``lineage_dev_fwer``'s own record is
left as it was), then each live answer set beside the anchor-rule answers that
``bench/lineage_dev_direction.py`` re-chose from the committed rows (``real_lookups``): they agree when the
rebuilt index and the fresh nulls give the confirmations of the committed run. Beside it, the live
confirmations chosen again without the anchor rule (v7) and with it (``rechoose``), paired: a live row
stores its relations as the anchor rule left them, so for v7 each related pair's direction is recomputed
by :func:`srprint.lineage.relate.direction` from the index statistics (the declared-source tie-breaker left
out; :func:`v7_relations`, checked against the committed rows' stored directions). Resumable (one
answer file per query, under the dev state's ``queries-fwer``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lineage_dev_fwer  # noqa: E402
from _common import RESULTS, write_results  # noqa: E402

NAME = "lineage_dev_direction_live"


def _f(w: dict[str, Any]) -> str:
    ci = w["ci95"] or [0, 0]
    return f"{w['k']}/{w['n']} ({100 * ci[0]:.1f}-{100 * ci[1]:.1f} %)"


def v7_relations(row: dict[str, Any], stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``row`` with each related relation's direction recomputed by the pairwise rules from ``stats``
    (``relate.direction`` without the declared-source tie-breaker); a relation without statistics is kept."""
    from srprint.lineage.relate import direction

    out = []
    for x in row["relations"]:
        me, cand = stats.get(row["id"]), stats.get(x["candidate"])
        if me and cand and x["relation"] in ("derived", "parent", "derived (direction unknown)", "shares a parent"):
            side, ev = direction(me, cand)
            rel = {1: "derived", -1: "parent"}.get(side) or (
                "derived (direction unknown)" if x["verdict"] == "copy" else "shares a parent")
            x = {**x, "relation": rel, "direction_evidence": ev}
        out.append(x)
    return {**row, "relations": out}


def live_paired(ran: list[dict[str, Any]]) -> dict[str, Any]:
    """The live rows' own confirmations chosen again, v7 and anchor (as ``lineage_dev_direction.real_lookups``
    does for the committed rows)."""
    from _lineage_report import rechoose
    from lineage_dev_direction import _distance, family
    from lineage_dev_fwer import ROOTS, score
    from srprint.config import srprint_home
    from srprint.lineage.relate import SUSPECT

    state = srprint_home() / "bench" / "lineage" / "dev"
    fams = {rid: family(state, rid) for rid in ROOTS}
    stats = {m["id"]: m["stats"] for f in fams.values() for m in f["members"].values()}
    role_of = {m["id"]: (rid, role) for rid, f in fams.items() for role, m in f["members"].items()}
    rows = []
    for row in ran:
        def distance(a: str, b: str, me: str = row["id"]) -> float | None:
            (ra, xa), (rb, xb) = (role_of.get(me if x == SUSPECT else x, (None, None)) for x in (a, b))
            if ra is None or ra != rb:
                return None
            return 0.0 if xa == xb else _distance(fams[ra], xa)(xa, xb)

        v7, an = rechoose(v7_relations(row, stats), None, distance=distance), rechoose(
            row, None, distance=distance, stats=stats)
        rows.append({**row, "v7": {"answer": v7["answer"], "match": v7["match"], "fwer": row["weighted"]["fwer"]},
                     "anchor": {"answer": an["answer"], "match": an["match"], "fwer": row["weighted"]["fwer"]}})
    committed = [r for r in json.loads((RESULTS / "lineage_dev_fwer.json").read_text())["rows"] if "relations" in r]
    pairs = [(x, y) for r in committed for x, y in zip(r["relations"], v7_relations(r, stats)["relations"],
                                                       strict=True) if x is not y]
    return {"n": len(rows), "v7_recomputed_equals_committed": [sum(x["relation"] == y["relation"] for x, y in pairs),
                                                               len(pairs)],
            "scores": {k: score(rows, k) for k in ("v7", "anchor")},
            "anchor_equals_live": sum((r["anchor"]["answer"], r["anchor"]["match"]) == (r["answer"], r["match"])
                                      for r in rows),
            "changed": [f"{r['id']}: {r['v7']['answer']} {r['v7']['match']} -> {r['anchor']['answer']} "
                        f"{r['anchor']['match']}" for r in rows
                        if (r["v7"]["answer"], r["v7"]["match"]) != (r["anchor"]["answer"], r["anchor"]["match"])]}


def main(argv: list[str] | None = None) -> int:
    written: dict[str, Any] = {}

    def write(name: str, data: dict[str, Any], markdown: str) -> Any:
        written.update(data=data, markdown=markdown)
        return None

    lineage_dev_fwer.write_results = write  # the table goes under NAME, below
    lineage_dev_fwer.main(argv)
    data, md = written["data"], written["markdown"]
    rechosen = {r["id"]: r["anchor"] for r in json.loads((RESULTS / "lineage_dev_direction.json").read_text())
                ["real_lookups"]["rows"]}
    ran = [r for r in data["rows"] if "not_run" not in r]
    same = [r["id"] for r in ran if r["id"] in rechosen
            and (r["answer"], r["match"]) == (rechosen[r["id"]]["answer"], rechosen[r["id"]]["match"])]
    differ = [f"{r['id']}: live {r['answer']} {r['match']}, re-chosen {rechosen[r['id']]['answer']} "
              f"{rechosen[r['id']]['match']}" for r in ran if r["id"] in rechosen and r["id"] not in same]
    data["against_rechosen"] = {"same": len(same), "n": len(ran), "differ": differ}
    data["live_rechosen"] = live_paired(ran)
    lp = data["live_rechosen"]
    md = md.replace("# Lineage lookup: weighted Holm on the dev families (sr-x2, none of it scored)",
                    "# Lineage lookup, live with the anchor rule, on the dev families (sr-x2, none of it scored)")
    md += (f"\nThis run is `bench/lineage_dev_fwer.py`'s, through the library with the anchor rule (*weighted* is "
           f"the library's answer). Live answers equal to the anchor-rule answers re-chosen from the committed "
           f"rows (`lineage_dev_direction`): {len(same)}/{len(ran)}" + (f"; differing: {'; '.join(differ)}" if differ
                                                                      else "") + ".\n"
           "\nThe live confirmations chosen again by `rechoose` (no stored graph, the weight-distance sibling rule; "
           "v7: each pair's direction recomputed by the pairwise rules from the index statistics, which reproduces "
           f"{lp['v7_recomputed_equals_committed'][0]}/{lp['v7_recomputed_equals_committed'][1]} of the committed "
           "rows' stored directions): with the anchor rule "
           f"{lp['anchor_equals_live']}/{lp['n']} equal the live answers; "
           + "; ".join(f"{k}: precision {_f(v['parent_precision'])}, recall {_f(v['parent_recall'])}, direction "
                       f"{_f(v['direction'])}, independent false links {_f(v['false_links_independent'])}"
                       for k, v in lp["scores"].items())
           + f". Answers changed by the anchor rule: {'; '.join(lp['changed']) or 'none'}.\n")
    write_results(NAME, data, md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
