"""Dev check (issue 28): real lookups on the x2 dev families, with and without the drift steps.

``bench/lineage_dev_drift.py`` scores the parent choice with every relative confirmed. A lookup confirms only a
few candidates, and in a family with a shared drift the weight-nearest ones miss the root; ``srprint.lineage.drift
.upstream`` then confirms the records nearest in weights to the family's earliest member. This script indexes the
60 models of ``lineage_dev_drift.DRIFT_ROOTS``' families (published x2 roots and the benchmark's fine-tunes; no
scored query holds them) into a dev index without a stored graph (so a lookup's walk is its upstream neighbours by
sketch), and looks every derived model up, itself left out, twice:

* *without the drift steps* (``along_drift`` and ``upstream`` switched off: the lookup as before them);
* *with them* (the library as it is).

Per-query answers are kept under ``$SRPRINT_HOME/bench/lineage/dev/queries-{arm}`` (a rerun skips them). Writes
``bench/results/lineage_dev_queries.{json,md}``.
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

from _common import write_results  # noqa: E402
from _lineage_report import counts, wilson  # noqa: E402
from lineage import DERIVED  # noqa: E402
from lineage_dev import build_family  # noqa: E402
from lineage_dev_drift import DRIFT_ROOTS  # noqa: E402

ARMS = ("without", "with")


def lookups(state: Path, index: Path, paths: dict[str, str], arm: str, suffix: str = "") -> dict[str, Any]:
    from srprint.lineage import query

    qdir = state / f"queries-{arm}{suffix}"
    qdir.mkdir(parents=True, exist_ok=True)
    saved = query.along_drift, query.upstream
    if arm == "without":
        query.along_drift = lambda rels, stats, distance: (rels, distance, {"removed": False})  # type: ignore
        query.upstream = lambda *a, **k: []  # type: ignore
    try:
        out = {}
        for mid, path in paths.items():
            f = qdir / f"{mid}.json"
            if not f.is_file():
                t = time.perf_counter()
                res = query.query_file(Path(path), index, exclude=frozenset({mid}))
                keep = {k: res.get(k) for k in ("answer", "match", "text", "weight_nearest", "upstream", "walked",
                                                "drift", "relations")}
                keep["seconds"] = round(time.perf_counter() - t, 2)
                tmp = f.with_suffix(".tmp")
                tmp.write_text(json.dumps(keep, default=str))
                tmp.replace(f)
                print(f"{arm} {mid}: {keep['answer']} {keep['match']} ({keep['seconds']} s)", flush=True)
            out[mid] = json.loads(f.read_text())
        return out
    finally:
        query.along_drift, query.upstream = saved


def lookup_rows(answers: dict[str, Any], ids: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Every derived model's lookup scored against its true parent (``ids``: each family's model ids by role)."""
    rows = []
    for rid in DRIFT_ROOTS:
        for role, (parent, _) in DERIVED.items():
            a = answers[ids[rid][role]]
            confirmed = [r["candidate"] for r in a.get("relations") or []]
            rows.append({"family": rid, "model": role, "parent": ids[rid][parent], "answer": a["answer"],
                         "match": a["match"], "right": a["match"] == ids[rid][parent],
                         "direction": a["match"] == ids[rid][parent] and a["answer"] == "derived",
                         "parent_confirmed": ids[rid][parent] in confirmed, "upstream": a.get("upstream"),
                         "drift": bool((a.get("drift") or {}).get("removed")), "seconds": a["seconds"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    from srprint.config import srprint_home
    from srprint.lineage.build import index_models
    from srprint.lineage.tree import link_index

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--linked", action="store_true", help="a second dev index, linked as the benchmark's is (a "
                    "stored graph: the lookup walks it and its stored parents order a chain); results *_linked")
    args = ap.parse_args(argv)
    suffix = "-linked" if args.linked else ""

    state = srprint_home() / "bench" / "lineage" / "dev"
    fams = {rid: build_family(state, rid) for rid in DRIFT_ROOTS}
    ids = {rid: {role: (f"{rid}-pretrained" if role == "root" else f"{rid}-{role}") for role in p}
           for rid, p in fams.items()}
    index = state / f"dev-index{suffix}"
    if not (index / "records.sqlite").is_file():
        index_models([Path(p) for f in fams.values() for p in f.values()], index)
    if args.linked:
        link_index(index, k=3)  # resumes: a model linked before is skipped
    derived = {ids[rid][role]: path for rid, f in fams.items() for role, path in f.items() if role != "root"}
    res: dict[str, Any] = {"roots": list(DRIFT_ROOTS), "arms": {}}
    for arm in ARMS:
        rows = lookup_rows(lookups(state, index, derived, arm, suffix), ids)
        res["arms"][arm] = {k: wilson(sum(r[k] for r in rows), len(rows))
                            for k in ("right", "direction", "parent_confirmed")} | {"rows": rows}

    f = counts
    lines = ["# Lineage lookups on the x2 dev families, with and without the drift steps (issue 28, dev)", "",
             f"Families: {', '.join(DRIFT_ROOTS)} (published x2 roots, bench/lineage.py's recipe; no scored query "
             "holds them), indexed together (60 models, no stored graph); every derived model looked up, itself "
             "left out, with the library's defaults. 95 % Wilson intervals.", "",
             "| lookup | parent named | parent named as its parent (direction) | parent confirmed |",
             "|---|---|---|---|"]
    lines += [f"| {arm} the drift steps | {f(s['right'])} | {f(s['direction'])} | {f(s['parent_confirmed'])} |"
              for arm, s in res["arms"].items()]
    lines += ["", "| family | model | without | with | drift found | confirmed upstream |", "|---|---|---|---|---|---|"]
    for a, b in zip(res["arms"]["without"]["rows"], res["arms"]["with"]["rows"], strict=True):
        lines.append(f"| {a['family']} | {a['model']} | {a['answer']} {a['match']} | {b['answer']} {b['match']} | "
                     f"{'yes' if b['drift'] else 'no'} | {', '.join(b['upstream'] or []) or '-'} |")
    if args.linked:
        lines[2] = lines[2].replace("no stored graph", "linked as the benchmark's index is: each model confirmed "
                                    "against its 3 nearest sketches, a stored graph and stored parents")
    write_results(f"lineage_dev_queries{suffix.replace('-', '_')}", res, "\n".join(lines) + "\n")
    print("\n".join(lines[:9]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
