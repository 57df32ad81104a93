"""State-dict detection of the published rfdn_rlfn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_keys, shuffle_tail


@register_detector("RFDN")
def detect_rfdn(state: StateDict) -> Detection | None:
    up = shuffle_tail(state, {"fea_conv.weight", "B1.c1_d.weight", "B1.esa.conv_max.weight"})
    if up is None:
        return None
    nf = state["fea_conv.weight"].shape[0]
    return Detection("RFDN", {"nf": nf, "num_modules": count_keys(state, r"B\d+\.c1_d\.weight")}, scale=up[0],
                     input_range=(0.0, 255.0), scale_evidence=up[1], notes=["input range [0,255] (RFDN)"])


@register_detector("RLFN")
def detect_rlfn(state: StateDict) -> Detection | None:
    up = shuffle_tail(state, {"conv_1.weight", "block_1.c1_r.weight", "block_1.esa.conv1.weight"})
    if up is None:
        return None
    fc = state["conv_1.weight"].shape[0]
    mid = state["block_1.c1_r.weight"].shape[0]
    n_blocks = count_keys(state, r"block_\d+\.c1_r\.weight")
    esa = state["block_1.esa.conv1.weight"].shape[0]
    arch = "RLFN_ntire" if mid != fc else {52: "RLFN", 48: "RLFN_S"}.get(fc, "RLFN")
    cfg = {"feature_channels": fc, "mid_channels": mid, "num_blocks": n_blocks, "esa_channels": esa}
    return Detection(arch, cfg, scale=up[0], input_range=(0.0, 255.0), scale_evidence=up[1],
                     notes=["input range [0,255] (RLFN)"])

