"""State-dict detection of the published efdn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import pixelshuffle_scale, port_detection, unwrap_state


@register_detector("EFDN")
def detect_efdn(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"cells.0.conv1.conv1x1.weight", "cells.0.att.conv_max.weight", "local_fuse.0.weight",
            "tail.0.weight"} <= sd.keys():
        return None
    cfg = {"n_feats": int(sd["head.weight"].shape[0])}
    return port_detection("EFDN", pixelshuffle_scale(sd["tail.0.weight"].shape[0]), cfg, sd=sd, notes=notes,
                          evidence_key="tail.0.weight")

