"""``srprint demo`` stage: fingerprint two demo models and a pruned copy, print the verdicts."""

from __future__ import annotations

import time
from typing import Any

import torch

from ..progress import console
from .attacks import attack_model
from .fingerprint import FingerprintSettings, fingerprint_model
from .verify import side_by_side, verify_fingerprints

SOURCE = "EDSR-skimage-x2-L1-s1"
INDEPENDENT = "EDSR-skimage-x2-L1-s2"  # same architecture and data, another seed
# a demo-sized setting (48 x 48 critical image, 50 Adam iterations): seconds per model on a laptop;
# bench/verification.py measures how far fewer iterations / smaller images drift from the paper's
DEMO_SETTINGS = FingerprintSettings(task="sr", size=48, iters=50)


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
        pruned = attack_model(src, "prune", out / "attacked" / f"{SOURCE}+prune5", {"percent": 5.0},
                              device=ctx.device)
        fps = {e.id: fingerprint_model(e, DEMO_SETTINGS, ctx.device) for e in (src, other, pruned)}
    finally:
        torch.set_num_threads(threads)
    for e_id, fp in fps.items():
        fp.save(out / f"{e_id}.fingerprint.json")
    rows = []
    for suspect, expected in ((pruned.id, "COPY"), (INDEPENDENT, "independent")):
        v = verify_fingerprints(fps[SOURCE], fps[suspect])
        side_by_side(fps[SOURCE], fps[suspect], v, out / f"{SOURCE}_vs_{suspect}.png")
        colour = "green" if v.label == expected else "red"
        console.print(f"{SOURCE} vs {suspect}: [{colour}]{v.label}[/] (d/eta = {v.ratio:.3g}, p = {v.p_value:.3g})",
                      highlight=False)
        rows.append({"source": SOURCE, "suspect": suspect, "verdict": v.label, "expected": expected,
                     "d_over_eta": v.ratio, "p_value": v.p_value})
    console.print(f"pruning changed held-out PSNR by {pruned.metrics['psnr_change']:+.3f} dB; outputs in {out}")
    return {"verdicts": rows, "all_correct": all(r["verdict"] == r["expected"] for r in rows),
            "prune_psnr_change": pruned.metrics["psnr_change"], "settings": DEMO_SETTINGS.to_dict(),
            "fingerprint_seconds": {k: v.seconds for k, v in fps.items()},
            "stage_seconds": round(time.perf_counter() - t0, 1)}
