"""State-dict detection of the published span checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import pixelshuffle_scale, port_detection, unwrap_state


@register_detector("SPAN-NTIRE24")
def detect_span_reparam(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"conv_1.eval_conv.weight", "block_1.c1_r.eval_conv.weight", "conv_cat.weight",
            "upsampler.0.weight"} <= sd.keys() or "conv_1.sk.weight" in sd:
        return None
    cfg = {"feature_channels": int(sd["conv_1.eval_conv.weight"].shape[0])}
    return port_detection("SPAN-NTIRE24", pixelshuffle_scale(sd["upsampler.0.weight"].shape[0]), cfg, sd=sd,
                          notes=notes,
                          evidence_key="upsampler.0.weight")

