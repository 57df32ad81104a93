"""Why a lineage index stores false cross-family parents (issue 28): the reference pool of the lineage null.

The README's index (the published checkpoints only) stores ``imdn_official_x4 <- rfdn_aim2020_x4`` and
``fmen_ntire2022_x4 <- rlfn_official_x4`` as *shared parent*, while the verification benchmark
(``bench/verification.py``: the published zoo plus the mini zoo as references) does not call the first
pair related. This script confirms the two pairs with the current verification (``verify_models``) under
four reference pools and records each verdict's lineage null (``null_models``, ``null_mean``, ``null_max``):

* ``index``: what ``srprint lineage index`` passed when these rows were made (cf331f3:
  :func:`srprint.lineage.query.candidate_references` took 8 models of the candidate's task and scale,
  leaving out its nearest sketches; it now passes the ``group`` pool, so a fresh ``--work`` gives that);
* ``benchmark``: the verification benchmark's population (:func:`~srprint.verification.protocol_v3.select_sources`);
* ``group``: every indexed model of the pair's task and scale but the pair (a proposed pool);
* ``all_sr``: every indexed SR model of any scale but the pair (a proposed pool).

A proposed pool is also tried on three true relatives of the lineage dev families (``bench/lineage_dev.py``:
published x2 roots the lineage benchmark does not score), to see that it keeps them related. Diagnosis
only: the verification method and the lineage query are not changed. Rows are cached as they are made
(``--work``); a rerun skips them. Writes ``bench/results/lineage_null_pool.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

PAIRS = [("rfdn_aim2020_x4-pretrained", "imdn_official_x4-pretrained"),
         ("rlfn_official_x4-pretrained", "fmen_ntire2022_x4-pretrained")]
DEV = [("imdn_official_x2-pretrained", "imdn_official_x2-sib2"),
       ("imdn_official_x2-pretrained", "imdn_official_x2-sibft"),
       ("rlfn_official_x2-pretrained", "rlfn_official_x2-sib2")]


def _row(pool: str, src: Any, sus: Any, refs: list[Any], load: Any) -> dict[str, Any]:
    from srprint.verification.ownership import verify_models

    t0 = time.perf_counter()
    v = verify_models(src, sus, load=load, references=refs)
    lin = v.lineage or {}
    return {"pool": pool, "source": src.id, "suspect": sus.id, "pool_size": len(refs), "verdict": v.verdict,
            "function": (v.functional or {}).get("decision"), "similarity": lin.get("similarity"),
            "p_value": lin.get("p_value"), "p_bound": lin.get("p_bound"), "null_n": lin.get("null_n"),
            "null_mean": lin.get("null_mean"), "null_max": lin.get("null_max"),
            "null_models": lin.get("null_models"), "seconds": round(time.perf_counter() - t0, 1),
            "load_average": round(os.getloadavg()[0], 2)}


def _markdown(rows: list[dict[str, Any]]) -> str:
    out = ["# Lineage null: the reference pool (issue 28)", "",
           "| pool | source | suspect | verdict | S | p | p bound | null n | null mean | null max "
           "| trained models in the null |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        trained = [m for m in r["null_models"] or [] if not m.startswith("random-init")]
        out.append(f"| {r['pool']} | {r['source']} | {r['suspect']} | {r['verdict']} | {r['similarity']:.3f} | "
                   f"{r['p_value']:.2g} | {r['p_bound']:.2g} | {r['null_n']} | {r['null_mean']:.3f} | "
                   f"{r['null_max']:.3f} | {', '.join(trained) or 'none (8 random re-initialisations only)'} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--index", type=Path, required=True, help="the README's lineage index (published checkpoints)")
    ap.add_argument("--published", type=Path, required=True, help="the verification benchmark's published zoo")
    ap.add_argument("--mini", type=Path, required=True, help="the mini zoo")
    ap.add_argument("--dev", type=Path, required=True, help="bench/lineage_dev.py's derived models folder")
    ap.add_argument("--work", type=Path, required=True, help="rows cache (resumable)")
    a = ap.parse_args()
    import torch

    from srprint.lineage.query import candidate_references
    from srprint.lineage.store import LineageIndex
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.ownership import memoised
    from srprint.verification.protocol_v3 import select_sources
    from srprint.zoo.entry import ZooEntry

    torch.set_num_threads(1)
    a.work.mkdir(parents=True, exist_ok=True)
    cache = a.work / "rows.jsonl"
    done = {(r["pool"], r["source"], r["suspect"]): r for r in map(json.loads, cache.open())} if cache.is_file() else {}
    index = LineageIndex(a.index)
    every = [r for g in index.groups() if g.startswith("sr-") for r in index.records(g)]
    by = {r.model_id: r for r in every}
    _, _, population = select_sources(a.published, a.mini)
    popby = {e.id: e for e in population}
    load = memoised(load_entry_model)

    def entries(recs: list[Any], leave: set[str]) -> list[Any]:
        return [ZooEntry.load(r.path) for r in recs if r.model_id not in leave and r.path and Path(r.path).is_dir()]

    jobs = []
    for s, u in PAIRS:
        rs, ru = by[s], by[u]
        group = index.records(rs.group)
        src, sus = ZooEntry.load(rs.path), ZooEntry.load(ru.path)
        jobs += [("index", src, sus, lambda rs=rs, ru=ru, group=group: candidate_references(
                     rs, group, exclude={ru.key})),  # as `lineage index` links suspect u to candidate s
                 ("benchmark", popby[s], popby[u], lambda: population),
                 ("group", src, sus, lambda group=group, s=s, u=u: entries(group, {s, u})),
                 ("all_sr", src, sus, lambda s=s, u=u: entries(every, {s, u}))]
    for root, kid in DEV:
        jobs.append(("all_sr (dev: true relative)", ZooEntry.load(by[root].path), ZooEntry.load(a.dev / kid),
                     lambda root=root: entries(every, {root})))
    for pool, src, sus, refs in jobs:
        if (pool, src.id, sus.id) in done:
            continue
        row = _row(pool, src, sus, refs(), load)
        done[(pool, src.id, sus.id)] = row
        with cache.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(pool, src.id, sus.id, row["verdict"], f"p_bound {row['p_bound']:.2g}", flush=True)
    rows = list(done.values())
    write_results("lineage_null_pool", {"index": str(a.index), "threads": 1, "rows": rows}, _markdown(rows))


if __name__ == "__main__":
    main()
