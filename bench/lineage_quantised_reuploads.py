"""Held-out check of the quantised re-upload rule (issue 28): int8 re-uploads of fine-tuned models.

:func:`srprint.lineage.relate.choose` answers a re-upload that is *same model* only by its storage grid (an int8
copy: quantisation noise keeps it from computing its source's function exactly) with the relative nearest in
weights, no longer the one that agrees best on the probes. The rule was written after one miss of
``bench/lineage.py`` (post hoc): the int8 re-upload of SPAN x4 agreed with the root's 100-step fine-tune ``sib``
at 24.30 dB and with the root at 24.09 dB, so it was named a re-upload of ``sib``.

This checks it on re-uploads neither rule was written on: an int8 copy of each root's ``ft1`` and ``sib``
fine-tunes (made here, queried against the benchmark's index, which holds them; nothing left out). Their
families are harder than a root's: the root, the other fine-tune of the root and the fine-tune's own child sit
100 Adam steps from the source. Scored: the answer is *same model* as the fine-tune. Beside it, the pick of
the earlier rule (the best probe agreement among the same confirmations). Both are read from one lookup.

State under ``$SRPRINT_HOME/bench/lineage/reuploads-heldout`` (the copies and one answer per query: a rerun
resumes). Writes ``bench/results/lineage_quantised_reuploads.{json,md}``.
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
from lineage import INDEX, REUPLOADS, ROOTS  # noqa: E402

BASES = ("ft1", "sib")  # the fine-tunes re-uploaded as int8


def _earlier_pick(res: dict[str, Any]) -> str | None:
    """The earlier rule's re-upload: the accepted *same model* relation with the best probe agreement."""
    from srprint.lineage.query import ALPHA
    from srprint.lineage.relate import Relation, accepted

    rels = [Relation.from_dict(r) for r in res.get("relations", [])]
    same = [r for r in rels if r.relation == "same model" and accepted(r, ALPHA)]
    return max(same, key=lambda r: r.function_db).candidate if same else None


def main() -> int:
    from srprint.config import srprint_home
    from srprint.lineage.query import query_file
    from srprint.rates import wilson_interval
    from srprint.verification.attacks import attack_model
    from srprint.zoo.entry import ZooEntry

    state = srprint_home() / "bench" / "lineage"
    index = state / f"{INDEX}-{len(ROOTS)}"
    work = state / "reuploads-heldout"
    work.mkdir(parents=True, exist_ok=True)
    kind, params = REUPLOADS["int8"]
    rows = []
    for rid in ROOTS:
        for base in BASES:
            src = state / "derived" / f"{rid}-{base}"
            if not (src / "model.json").is_file():
                rows.append({"source": f"{rid}-{base}", "error": "fine-tune not made"})
                continue
            source = ZooEntry.load(src)
            out = work / f"{rid}-{base}-int8"
            answer = work / f"{rid}-{base}-int8.answer.json"
            if not (out / "model.json").is_file():
                attack_model(source, kind, out, params=params)
            if answer.is_file():
                res = json.loads(answer.read_text())
            else:
                t = time.perf_counter()
                res = query_file(out, index, exclude=frozenset(), n_confirm=3)
                res = {k: res.get(k) for k in ("answer", "match", "fwer", "text", "weight_nearest")} | {
                    "query_s": round(time.perf_counter() - t, 2),
                    "relations": [{k: r.get(k) for k in ("candidate", "relation", "verdict", "fwer", "function_db",
                                                         "edits")} for r in res.get("relations", [])]}
                answer.write_text(json.dumps(res))
            rows.append({"source": source.id, "answer": res["answer"], "match": res["match"],
                         "earlier": _earlier_pick(res), "query_s": res["query_s"],
                         "same_model": [r["candidate"] for r in res["relations"] if r["relation"] == "same model"]})
            print(f"{source.id}: {res['answer']} {res['match']} (earlier rule: {rows[-1]['earlier']})", flush=True)
    ran = [r for r in rows if "error" not in r]

    def rate(k: int) -> dict[str, Any]:
        lo, hi = wilson_interval(k, len(ran)) if ran else (None, None)
        return {"k": k, "n": len(ran), "ci95": [lo, hi]}

    now = sum(r["answer"] == "same model" and r["match"] == r["source"] for r in ran)
    before = sum(r["earlier"] == r["source"] for r in ran)
    data = {"index": index.name, "bases": BASES, "rows": rows, "current_rule": rate(now), "earlier_rule": rate(before),
            "several_same_model": sum(len(r["same_model"]) > 1 for r in ran)}

    def pct(x: dict[str, Any]) -> str:
        lo, hi = x["ci95"]
        return f"{x['k']}/{x['n']} ({100 * lo:.1f}-{100 * hi:.1f} %)" if x["n"] else "0/0"

    md = ["# Quantised re-uploads of fine-tunes: the held-out check of the re-upload rule (issue 28)", "",
          __doc__.split("\n\n")[1].replace("\n", " "), "",
          f"Index `{index.name}`; int8 copies of each root's {' and '.join(BASES)} ({len(ran)} queries, "
          f"{data['several_same_model']} with more than one *same model* confirmation). 95 % Wilson intervals.", "",
          "| rule | named the fine-tune *same model* |", "|---|---|",
          f"| nearest in weights (current) | {pct(data['current_rule'])} |",
          f"| best probe agreement (earlier) | {pct(data['earlier_rule'])} |", "",
          "| re-uploaded | answer | earlier rule | same-model confirmations | s |", "|---|---|---|---|---:|"]
    md += [f"| {r['source']} | {r['answer']} {r['match'] or ''} | {r['earlier'] or '-'} | "
           f"{', '.join(r['same_model']) or '-'} | {r['query_s']} |" for r in ran]
    md += [f"| {r['source']} | {r['error']} | | | |" for r in rows if "error" in r]
    write_results("lineage_quantised_reuploads", data, "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
