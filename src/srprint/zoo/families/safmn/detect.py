"""State-dict detection of the published safmn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_indices, pixelshuffle_scale, port_detection, unwrap_state


@register_detector("SAFMN-NTIRE23")
def detect_safmn_ntire23(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"norm.gamma", "to_feat.weight", "feats.0.safm.mfr.0.weight", "to_img.0.weight"} <= sd.keys():
        return None
    dim = int(sd["to_feat.weight"].shape[0])
    cfg = {"dim": dim, "n_blocks": count_indices(sd, r"feats\.(\d+)\.safm\."),
           "ffn_scale": float(sd["feats.0.ccm.ccm.0.weight"].shape[0]) / dim}
    return port_detection("SAFMN-NTIRE23", pixelshuffle_scale(sd["to_img.0.weight"].shape[0]), cfg, sd=sd, notes=notes,
                          evidence_key="to_img.0.weight")

