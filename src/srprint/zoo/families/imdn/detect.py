"""State-dict detection of the published imdn checkpoints."""

from __future__ import annotations

from ...detection import Detection, StateDict, register_detector
from ..state_dicts import count_keys, shuffle_factor, shuffle_tail


@register_detector("IMDN")
def detect_imdn(state: StateDict) -> Detection | None:
    up = shuffle_tail(state, {"IMDB1.c1.weight", "c.0.weight"})
    if up is None:
        return None
    n_mod = count_keys(state, r"IMDB\d+\.c1\.weight")
    nf = state["IMDB1.c1.weight"].shape[0]
    if "fea_conv.0.weight" in state and "fea_conv.2.weight" in state:  # stride-2 head: IMDN_AS
        return Detection("IMDN_AS", {"nf": nf, "num_modules": n_mod}, scale=up[0],
                         scale_evidence=up[1] + " (after a x1/4 strided head; LR is bicubic-upsampled first)")
    if "fea_conv.weight" not in state:
        return None
    return Detection("IMDN", {"nf": nf, "num_modules": n_mod}, scale=up[0], scale_evidence=up[1])


@register_detector("IMDN_RTC")
def detect_imdn_rtc(state: StateDict) -> Detection | None:
    if not {"0.weight", "1.sub.0.c1.weight", "2.weight"} <= state.keys() or "1.sub.0.cca.conv_du.0.weight" in state:
        return None
    n_mod = count_keys(state, r"1\.sub\.\d+\.c1\.weight")
    nf = state["0.weight"].shape[0]
    up = shuffle_factor(state, "2.weight")
    if up is None:
        return None
    return Detection("IMDN_RTC", {"nf": nf, "num_modules": n_mod}, scale=up[0], scale_evidence=up[1])


@register_detector("IMDN_RTE")
def detect_imdn_rte(state: StateDict) -> Detection | None:
    up = shuffle_tail(state, {"block1.c7.weight", "fea_conv.2.weight"})
    if up is None or up[0] % 2:
        return None
    nf = state["fea_conv.0.weight"].shape[0]
    return Detection("IMDN_RTE", {"nf": nf, "num_modules": count_keys(state, r"block\d+\.c7\.weight")},
                     scale=up[0] // 2, input_range=(0.0, 255.0),
                     scale_evidence=up[1] + " after a stride-2 head", notes=["input range [0,255] (IMDN_RTE)"])

