"""Diagnostic, not a result: the gated weight-matching frame on the v3.5 benchmark's int8 misses.

``bench/verification_gated_dev.py`` chose the gate (0.95) on never-scored calibration sources: at 0.95 no
independent pair's ``S`` moved. This script looks, *after* that choice, at the scored rows v3.5 did not call
*copy* whose edit ends in int8 (``bench/results/verification_v3.json``): each copy is made again with the
benchmark's own edit chain and seeds, its ``S`` under v3.5 is checked against the committed row (the same copy
gives the same ``S``), and its ``S`` with the gate is printed beside the copy band (``1 - S <=`` the committed
band). ``S`` is not the verdict: that needs the null, the Cantelli bound and the function test, i.e. the full
rerun of the benchmark under a new statistic version, which alone can score the gate. No rule is set here.
Copies go to ``$SRPRINT_HOME/bench/verification_gated_misses``. Writes
``bench/results/verification_gated_misses.{json,md}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402
from verification_gated_dev import _fmt, _measure  # noqa: E402

GATE = 0.95


def main() -> None:
    import torch

    from srprint.config import srprint_home
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.lineage import capture_model
    from srprint.verification.protocol import default_zoos, make_copy
    from srprint.verification.protocol_v3 import EXACT_EDITS, SMALL_CHANGES, select_sources

    torch.set_num_threads(1)
    committed = json.loads((RESULTS / "verification_v3.json").read_text())
    band = float(committed["copy_band"]["band"]) if isinstance(committed["copy_band"], dict) \
        else float(committed["copy_band"])
    misses = [r for r in committed["items"] if r["kind"] == "copy-scored" and r.get("verdict") != "copy"
              and r["edit"].endswith("int8") and "finetune" not in r["edit"]]
    zoos = default_zoos()
    _, _, pop = select_sources(zoos["published"], zoos["mini"])
    by_id = {e.id: e for e in pop}
    chains = dict(EXACT_EDITS) | dict(SMALL_CHANGES)
    work = srprint_home() / "bench" / "verification_gated_misses"
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    captures: dict[str, Any] = {}
    for r in misses:
        src = by_id[r["source"]]
        base = r["edit"][: -len("+int8")] if r["edit"] != "int8" else None
        steps = (*(chains[base] if base else ()), ("quantize", {"bits": 8}))
        copy = make_copy(src, steps, work, tag=r["edit"])
        if src.id not in captures:
            captures[src.id] = capture_model(load_entry_model(src))
        m = _measure(captures[src.id], capture_model(load_entry_model(copy)))
        row = {"source": src.id, "edit": r["edit"], "verdict_v35": r["verdict"], "s_committed": r["similarity"],
               "psnr_change": r.get("psnr_change"), "s_v35": m["s_v35"], "s_gate": m[f"s_gate_{GATE}"],
               "layers_at_gate": m[f"wm_at_gate_{GATE}"], "layers": m["wm_pairs"]}
        rows.append(row)
        print(row, flush=True)
    res = {"gate": GATE, "copy_band": band, "rows": rows, "seconds": round(time.time() - t0, 1)}
    write_results("verification_gated_misses", res, markdown(res))


def markdown(res: dict[str, Any]) -> str:
    rows, band = res["rows"], res["copy_band"]
    same = sum(abs(r["s_v35"] - r["s_committed"]) < 1e-6 for r in rows)
    inside = sum(1 - r["s_gate"] <= band for r in rows)
    lines = ["# Diagnostic, not a result: the gated weight-matching frame on v3.5's int8 misses (issue 26)", "",
             f"Gate {res['gate']} (chosen on never-scored sources, `verification_gated_dev.md`), applied after that "
             "choice to the scored rows v3.5 did not call *copy* whose edit ends in int8. S is not the verdict "
             "(the null, the Cantelli bound and the function test decide): only a full rerun under a new statistic "
             "version scores the gate. No rule was set on these rows.", "",
             f"Copies made again with the benchmark's edit chains: S under v3.5 equals the committed row's for "
             f"{same} of {len(rows)}. S with the gate inside the copy band (1 - S <= {band:.4f}): "
             f"{inside} of {len(rows)}.", "",
             "| source | edit | PSNR change (dB) | v3.5 verdict | S v3.5 (committed) | S gated | layers at the gate |",
             "|---|---|---:|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['source']} | {r['edit']} | {_fmt(r['psnr_change'], 2)} | {r['verdict_v35']} | "
                     f"{_fmt(r['s_v35'])} ({_fmt(r['s_committed'])}) | {_fmt(r['s_gate'])} | "
                     f"{r['layers_at_gate']} / {r['layers']} |")
    lines += ["", f"This run: {res['seconds']} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
