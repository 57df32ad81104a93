"""State-dict detection of the published dncnn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector


@register_detector("DnCNN-BN")
def detect_dncnn_bn(state: StateDict) -> Detection | None:
    if "dncnn.0.weight" not in state or not any(k.endswith("running_mean") for k in state):
        return None
    convs = [k for k, v in state.items() if k.startswith("dncnn.") and k.endswith(".weight") and v.ndim == 4]
    first = state["dncnn.0.weight"]
    channels, features = first.shape[1], first.shape[0]
    return Detection("DnCNN-BN", {"depth": len(convs), "channels": channels, "features": features}, scale=1,
                     task="denoise", grey=channels == 1, residual=True,
                     scale_evidence="a same-size denoiser (no upsampling layers)",
                     notes=["predicts the noise: clean = input - net(input)"])

