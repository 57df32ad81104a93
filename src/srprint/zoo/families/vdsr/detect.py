"""State-dict detection of the published vdsr checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_keys


@register_detector("VDSR")
def detect_vdsr(state: StateDict) -> Detection | None:
    if not {"input.weight", "residual_layer.0.conv.weight", "output.weight"} <= state.keys():
        return None
    first = state["input.weight"]
    cfg = {"depth": count_keys(state, r"residual_layer\.\d+\.conv\.weight") + 2, "features": first.shape[0],
           "channels": first.shape[1]}
    return Detection("VDSR", cfg, scale=4, scales=(2, 3, 4), grey=first.shape[1] == 1,
                     scale_evidence="pre-upsampling network (bicubic input), trained jointly for x2/x3/x4",
                     notes=["Y-channel model on the bicubic-upsampled image"])

