"""``srprint demo`` stage: verify a pruned copy, a rotated copy and an independent seed sibling.

The rotated copy multiplies the residual stream by a random orthogonal matrix (``srprint attack mix``):
every weight changes, no output does. The verdicts come from :func:`.ownership.verify_models`: the
function stage first, then parameter lineage; the nulls are made of random re-initialisations and the
other demo models that share no lineage with the pair.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..progress import console
from .attacks import attack_model
from .fingerprint import load_entry_model
from .ownership import verify_models

SOURCE = "EDSR-skimage-x2-L1-s1"
INDEPENDENT = "EDSR-skimage-x2-L1-s2"  # same architecture and data, another seed


def demo_stage(ctx: Any) -> dict[str, Any]:
    from ..zoo.entry import Zoo

    t0 = time.perf_counter()
    out = ctx.out / "verification"
    out.mkdir(parents=True, exist_ok=True)
    zoo = Zoo(ctx.zoo_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread is much faster than two on a busy 2-core machine for these tiny nets
    try:
        src, other = zoo.get(SOURCE), zoo.get(INDEPENDENT)
        pruned = attack_model(src, "prune", out / "attacked" / f"{SOURCE}+prune5", params={"percent": 5.0},
                              device=ctx.device)
        rotated = attack_model(src, "mix", out / "attacked" / f"{SOURCE}+mix", params={"cond": 1.0, "seed": 0},
                               device=ctx.device)
        references = zoo.entries()
        rows = []
        for suspect, expected in ((pruned, "copy"), (rotated, "copy"), (other, "independent")):
            v = verify_models(src, suspect, load=load_entry_model, references=references)
            colour = "green" if v.verdict == expected else "red"
            console.print(f"{SOURCE} vs {suspect.id}: [{colour}]{v.verdict}[/] ({v.explanation})", highlight=False)
            lin = v.lineage or {}
            rows.append({"source": SOURCE, "suspect": suspect.id, "verdict": v.verdict, "expected": expected,
                         "similarity": lin.get("similarity"), "coverage": lin.get("coverage"),
                         "p_value": lin.get("p_value"), "agreement_db": (v.functional or {}).get("agreement_db"),
                         "seconds": v.seconds})
    finally:
        torch.set_num_threads(threads)
    console.print(f"pruning changed held-out PSNR by {pruned.metrics['psnr_change']:+.3f} dB, rotating the residual "
                  f"stream by {rotated.metrics['psnr_change']:+.3f} dB; outputs in {out}", highlight=False)
    return {"verdicts": rows, "all_correct": all(r["verdict"] == r["expected"] for r in rows),
            "prune_psnr_change": pruned.metrics["psnr_change"], "method": "function + lineage v3",
            "stage_seconds": round(time.perf_counter() - t0, 1)}
