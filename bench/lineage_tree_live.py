"""``srprint lineage tree`` run live on the lineage benchmark's index (issue 28).

``bench/lineage.py`` scores the graph the library draws by default (:mod:`srprint.lineage.forest`: each indexed
model's own lookup, itself left out, gives its edge) from the benchmark's stored answers of the indexed models. This
script runs :func:`srprint.lineage.tree.lineage_tree` itself on the same index (its lookups stored in the index and
reused on a rerun, so it resumes), scores its edges the same way, and counts the edges on which the two differ.

Writes ``bench/results/lineage_tree_live.{json,md}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, write_results  # noqa: E402
from _lineage_report import counts, tree_score  # noqa: E402
from lineage import INDEX, ROOTS, build_population  # noqa: E402


def main() -> int:
    from srprint.config import srprint_home
    from srprint.lineage.tree import lineage_tree

    state = srprint_home() / "bench" / "lineage"
    pop = build_population(state, len(ROOTS), build=False)
    index = state / f"{INDEX}-{len(ROOTS)}"
    t0 = time.perf_counter()
    seconds: list[float] = []

    def progress(mid: str, ans: dict[str, Any]) -> None:
        seconds.append(float(ans.get("seconds") or 0.0))
        print(f"{mid}: {ans.get('answer')} {ans.get('match') or ''} ({ans.get('seconds')} s)", flush=True)

    tree = lineage_tree(index, progress=progress)
    wall = time.perf_counter() - t0
    committed = json.loads((RESULTS / "lineage.json").read_text())["tree"]

    def key(e: dict[str, Any]) -> tuple[str, str, str]:
        return e["parent"], e["child"], e["relation"]

    live, stored = {key(e) for e in tree["edges"]}, {key(e) for e in committed["edges"]}
    res = {"index": str(index), "score": tree_score(tree["edges"], pop), "edges": tree["edges"],
           "looked_up_now": len(seconds), "lookup_s_median": sorted(seconds)[len(seconds) // 2] if seconds else None,
           "wall_s": round(wall, 1), "only_live": sorted(live - stored),
           "only_from_stored_answers": sorted(stored - live)}
    s = res["score"]
    lines = ["# `srprint lineage tree` run live on the lineage benchmark's index (issue 28)", "",
             f"Index `{INDEX}-{len(ROOTS)}` (126 models), `lineage_tree` with its defaults (each indexed model's own "
             f"lookup, itself left out). Lookups run now: {len(seconds)} (median {res['lookup_s_median']} s; the "
             f"others read back from the index); wall {res['wall_s']} s. 95 % Wilson intervals.", "",
             f"- edges: {s['edges']}; true parent edges found: {counts(s['true_edges_found'])}; edge precision "
             f"{counts(s['edge_precision'])}; across families: {s['edges_across_families']}",
             f"- direction of the true edges directed: {counts(s['direction_of_true_edges'])}; true edges the right "
             f"way round: {counts(s['true_edges_right_way'])}",
             f"- edges only in the live graph: {len(res['only_live'])}; only in the graph from the benchmark's stored "
             f"answers (`lineage.md`): {len(res['only_from_stored_answers'])}", ""]
    lines += [f"  - live only: {p} -> {c} ({r})" for p, c, r in res["only_live"]]
    lines += [f"  - stored answers only: {p} -> {c} ({r})" for p, c, r in res["only_from_stored_answers"]]
    write_results("lineage_tree_live", res, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
