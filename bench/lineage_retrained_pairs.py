"""Each retrained independent model of the lineage benchmark against the root whose network it shares (issue 28).

``bench/_lineage_retrained.py`` trains ten roots' own networks from a fresh random initialisation. In the
lineage lookup (``bench/lineage.py``, v15) a retrained model is confirmed only against the candidates its
sketch and weights bring up, and for most of them the root never came up. This runs the pair directly,
as a model owner would: ``srprint verify pair ROOT RETRAINED --json`` (verification v3, the default
references). Same architecture, same layout, no shared start or data: the right verdict is *independent*.
No rule was set on these pairs. One answer per pair is kept under
``$SRPRINT_HOME/bench/lineage/retrained-pairs`` (a rerun resumes). Writes
``bench/results/lineage_retrained_pairs.{json,md}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402
from _lineage_retrained import RETRAIN, RETRAINED_ROOTS, retrained_id  # noqa: E402


def main() -> int:
    from srprint.config import srprint_home
    from srprint.rates import wilson_interval
    from srprint.zoo.study import pretrained_zoo_dir

    state = srprint_home() / "bench" / "lineage"
    work = state / "retrained-pairs"
    work.mkdir(parents=True, exist_ok=True)
    srprint = Path(sys.executable).with_name("srprint")
    rows = []
    for rid in RETRAINED_ROOTS:
        root, suspect = pretrained_zoo_dir() / f"{rid}-pretrained", state / "retrained" / retrained_id(rid)
        answer = work / f"{retrained_id(rid)}.json"
        if not (suspect / "model.json").is_file():
            rows.append({"root": rid, "error": "retrained model not made (run bench/lineage.py first)"})
            continue
        if not answer.is_file():
            t = time.perf_counter()
            run = subprocess.run([str(srprint), "verify", "pair", str(root), str(suspect), "--json"],
                                 capture_output=True, text=True, check=False)
            if run.returncode != 0:
                rows.append({"root": rid, "error": (run.stderr.strip().splitlines() or ["?"])[-1][:300]})
                continue
            res = json.loads(run.stdout)
            res["wall_s"] = round(time.perf_counter() - t, 2)
            tmp = answer.with_suffix(".tmp")
            tmp.write_text(json.dumps(res))
            tmp.replace(answer)
        res = json.loads(answer.read_text())
        lin, fun = res.get("lineage") or {}, res.get("functional") or {}
        rows.append({"root": rid, "suspect": retrained_id(rid), "verdict": res["verdict"],
                     "similarity": lin.get("similarity"), "p_value": lin.get("p_value"),
                     "null_max": lin.get("null_max"), "agreement_db": fun.get("agreement_db"),
                     "function_p": fun.get("p_value"), "seconds": res.get("seconds"), "wall_s": res.get("wall_s")})
        print(f"{rid}: {res['verdict']}", flush=True)
    ran = [r for r in rows if "error" not in r]
    ok = sum(r["verdict"] == "independent" for r in ran)
    lo, hi = wilson_interval(ok, len(ran)) if ran else (0.0, 1.0)
    data = {"recipe": RETRAIN, "rows": rows, "independent": {"k": ok, "n": len(ran), "ci95": [lo, hi]},
            "linked": sum(r["verdict"] in ("copy", "shared parent") for r in ran)}

    def num(x: Any, f: str) -> str:
        return format(x, f) if isinstance(x, (int, float)) else "-"

    md = ["# Retrained models against their root's network: `verify pair` (issue 28)", "",
          __doc__.split("\n\n")[1].replace("\n", " "), "",
          f"Recipe: {RETRAIN}. *independent*: {ok}/{len(ran)} ({100 * lo:.1f}-{100 * hi:.1f} %, Wilson 95 %); "
          f"called *copy* or *shared parent*: {data['linked']}.", "",
          "| root | verdict | weight similarity | p (lineage) | null max | function agreement dB | p (function) | s |",
          "|---|---|---:|---:|---:|---:|---:|---:|"]
    md += [f"| {r['root']} | {r['verdict']} | {num(r['similarity'], '.3f')} | {num(r['p_value'], '.3g')} | "
           f"{num(r['null_max'], '.3f')} | {num(r['agreement_db'], '.2f')} | {num(r['function_p'], '.3g')} | "
           f"{r['seconds']} |" for r in ran]
    md += [f"| {r['root']} | {r['error']} | | | | | | |" for r in rows if "error" in r]
    write_results("lineage_retrained_pairs", data, "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
