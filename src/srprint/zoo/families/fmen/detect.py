"""State-dict detection of the published fmen checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_indices, pixelshuffle_scale, port_detection, unwrap_state


@register_detector("FMEN")
def detect_fmen(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"warmup.1.squeeze.weight", "hfabs.0.excitate.weight", "lr_conv.weight", "tail.0.weight"} <= sd.keys():
        return None
    down = count_indices(sd, r"basic_blocks\.(\d+)\.conv1\.")
    up = [count_indices(sd, r"warmup\.1\.convs\.(\d+)\.conv1\.")]
    up += [count_indices(sd, rf"hfabs\.{i}\.convs\.(\d+)\.conv1\.") for i in range(down)]
    cfg = {"n_feats": int(sd["head.weight"].shape[0]), "mid_feats": int(sd["hfabs.0.squeeze.weight"].shape[0]),
           "down_blocks": down, "up_blocks": up, "warmup_mid": int(sd["warmup.1.squeeze.weight"].shape[0])}
    notes = [*notes, "expects input in [0,255] (NTIRE 2022 test_demo data_range=255)"]
    return port_detection("FMEN", pixelshuffle_scale(sd["tail.0.weight"].shape[0]), cfg, sd=sd, notes=notes,
                          evidence_key="tail.0.weight",
                          input_range=(0.0, 255.0))

