"""State-dict detection of the published carn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector


@register_detector("CARN-M")
def detect_carn_m(state: StateDict) -> Detection | None:
    if not {"entry.weight", "b1.b1.body.0.weight", "sub_mean.shifter.weight"} <= state.keys():
        return None
    heads = tuple(s for s in (2, 3, 4) if f"upsample.up{s}.body.0.weight" in state)
    if not heads:
        return None
    c = state["entry.weight"].shape[0]
    group = c // state["b1.b1.body.0.weight"].shape[1]
    return Detection("CARN-M", {"channels": c, "group": group, "head_scales": list(heads)}, scale=heads[-1],
                     scales=heads, scale_evidence=f"upsampling heads {', '.join(f'up{s}' for s in heads)}")

