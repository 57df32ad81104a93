"""State-dict detection of the published mobilesr checkpoints."""

from __future__ import annotations

import math

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_indices, port_detection, unwrap_state


@register_detector("MobileSR")
def detect_mobilesr(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"body.layers.0.0.attn.qkv.weight", "upsapling.0.weight", "fuse.weight", "tail.weight"} <= sd.keys():
        return None
    n_feats = int(sd["head.weight"].shape[0])
    n_layers = count_indices(sd, r"body\.layers\.(\d+)\.0\.")
    ratios = [int(sd[f"body.layers.{i}.0.mlp.fc.0.weight"].shape[0]) // n_feats for i in range(n_layers)]
    if "upsapling.2.weight" in sd:
        scale: int | None = 4
    else:
        s = math.isqrt(int(sd["upsapling.0.weight"].shape[0]) // n_feats)
        scale = s if s * s * n_feats == sd["upsapling.0.weight"].shape[0] else None
    cfg = {"n_feats": n_feats, "n_heads": 8, "window": 8, "ratios": ratios}
    notes = [*notes, "attention heads (8) and window (8) are not visible in the weights: release defaults"]
    key = "upsapling.2.weight" if "upsapling.2.weight" in sd else "upsapling.0.weight"
    return port_detection("MobileSR", scale, cfg, sd=sd, notes=notes, evidence_key=key)

