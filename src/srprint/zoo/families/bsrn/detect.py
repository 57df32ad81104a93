"""State-dict detection of the published bsrn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_indices, pixelshuffle_scale, port_detection, unwrap_state


@register_detector("BSRN")
def detect_bsrn(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"fea_conv.pw.weight", "B1.cw", "upsampler.upsampleOneStep.0.weight"} <= sd.keys():
        return None
    cfg = {"num_feat": int(sd["fea_conv.pw.weight"].shape[0]), "num_block": count_indices(sd, r"B(\d+)\.cw$")}
    key = "upsampler.upsampleOneStep.0.weight"
    return port_detection("BSRN", pixelshuffle_scale(sd[key].shape[0]), cfg, sd=sd, notes=notes, evidence_key=key)

