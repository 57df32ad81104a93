"""State-dict detection of the published srgan checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_keys


@register_detector("SRGAN-SRResNet")
def detect_srgan(state: StateDict) -> Detection | None:
    w = state.get("block1.0.weight")
    if w is None or tuple(w.shape[1:]) != (3, 9, 9) or "block2.bn1.running_mean" not in state:
        return None
    n_blocks = count_keys(state, r"block\d+\.conv1\.weight")
    last = f"block{n_blocks + 3}"
    ups = count_keys(state, rf"{last}\.\d+\.conv\.weight")
    if ups == 0:
        return None
    return Detection("SRGAN-SRResNet", {"n_blocks": n_blocks, "channels": w.shape[0]}, scale=2**ups,
                     scale_evidence=f"{ups} x2 pixel-shuffle stages in {last}")


@register_detector("Fast-SRGAN-SRResNet")
def detect_fast_srgan(state: StateDict) -> Detection | None:
    if not {"neck.0.weight", "stem.0.conv1.weight", "upsampling.0.conv.weight", "head.0.weight"} <= state.keys():
        return None
    ups = count_keys(state, r"upsampling\.\d+\.conv\.weight")
    cfg = {"n_filters": state["neck.0.weight"].shape[0], "n_layers": count_keys(state, r"stem\.\d+\.conv1\.weight")}
    return Detection("Fast-SRGAN-SRResNet", cfg, scale=2**ups, input_range=(-1.0, 1.0),
                     scale_evidence=f"{ups} x2 pixel-shuffle stages", notes=["input/output range [-1,1]"])

