"""Detectors for PyTorch state dicts of the architectures ported in ``srprint.zoo.archs.ports_*``.

Each detector looks at key names (after prefix stripping) and tensor shapes, and returns a
:class:`Detection` with the constructor config and the scale read from the upsampler's shape, or
``None`` when the layout is not its own.
"""

from __future__ import annotations

import math
import re

import torch

from .detection import Detection, StateDict, register_detector


def _count(state: StateDict, pattern: str) -> int:
    rx = re.compile(pattern)
    return sum(1 for k in state if rx.fullmatch(k))


def _shuffle_factor(state: StateDict, key: str, out_channels: int = 3) -> tuple[int, str] | None:
    """Pixel-shuffle factor r from a conv producing ``out_channels * r^2`` channels."""
    n = state[key].shape[0]
    r = int(round(math.sqrt(n / out_channels)))
    if r < 1 or out_channels * r * r != n:
        return None
    return r, f"{key} has {n} = {out_channels}*{r}^2 output channels"


def _shuffle_tail(state: StateDict, keys: set[str], tail: str = "upsampler.0.weight") -> tuple[int, str] | None:
    """The pixel-shuffle factor of ``tail`` in a layout that has all of ``keys`` (and ``tail``); else None."""
    if not keys | {tail} <= state.keys():
        return None
    return _shuffle_factor(state, tail)


@register_detector("IMDN")
def detect_imdn(state: StateDict) -> Detection | None:
    up = _shuffle_tail(state, {"IMDB1.c1.weight", "c.0.weight"})
    if up is None:
        return None
    n_mod = _count(state, r"IMDB\d+\.c1\.weight")
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
    n_mod = _count(state, r"1\.sub\.\d+\.c1\.weight")
    nf = state["0.weight"].shape[0]
    up = _shuffle_factor(state, "2.weight")
    if up is None:
        return None
    return Detection("IMDN_RTC", {"nf": nf, "num_modules": n_mod}, scale=up[0], scale_evidence=up[1])


@register_detector("IMDN_RTE")
def detect_imdn_rte(state: StateDict) -> Detection | None:
    up = _shuffle_tail(state, {"block1.c7.weight", "fea_conv.2.weight"})
    if up is None or up[0] % 2:
        return None
    nf = state["fea_conv.0.weight"].shape[0]
    return Detection("IMDN_RTE", {"nf": nf, "num_modules": _count(state, r"block\d+\.c7\.weight")},
                     scale=up[0] // 2, input_range=(0.0, 255.0),
                     scale_evidence=up[1] + " after a stride-2 head", notes=["input range [0,255] (IMDN_RTE)"])


@register_detector("RFDN")
def detect_rfdn(state: StateDict) -> Detection | None:
    up = _shuffle_tail(state, {"fea_conv.weight", "B1.c1_d.weight", "B1.esa.conv_max.weight"})
    if up is None:
        return None
    nf = state["fea_conv.weight"].shape[0]
    return Detection("RFDN", {"nf": nf, "num_modules": _count(state, r"B\d+\.c1_d\.weight")}, scale=up[0],
                     input_range=(0.0, 255.0), scale_evidence=up[1], notes=["input range [0,255] (RFDN)"])


@register_detector("RLFN")
def detect_rlfn(state: StateDict) -> Detection | None:
    up = _shuffle_tail(state, {"conv_1.weight", "block_1.c1_r.weight", "block_1.esa.conv1.weight"})
    if up is None:
        return None
    fc = state["conv_1.weight"].shape[0]
    mid = state["block_1.c1_r.weight"].shape[0]
    n_blocks = _count(state, r"block_\d+\.c1_r\.weight")
    esa = state["block_1.esa.conv1.weight"].shape[0]
    arch = "RLFN_ntire" if mid != fc else {52: "RLFN", 48: "RLFN_S"}.get(fc, "RLFN")
    cfg = {"feature_channels": fc, "mid_channels": mid, "num_blocks": n_blocks, "esa_channels": esa}
    return Detection(arch, cfg, scale=up[0], input_range=(0.0, 255.0), scale_evidence=up[1],
                     notes=["input range [0,255] (RLFN)"])


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


@register_detector("SRGAN-SRResNet")
def detect_srgan(state: StateDict) -> Detection | None:
    w = state.get("block1.0.weight")
    if w is None or tuple(w.shape[1:]) != (3, 9, 9) or "block2.bn1.running_mean" not in state:
        return None
    n_blocks = _count(state, r"block\d+\.conv1\.weight")
    last = f"block{n_blocks + 3}"
    ups = _count(state, rf"{last}\.\d+\.conv\.weight")
    if ups == 0:
        return None
    return Detection("SRGAN-SRResNet", {"n_blocks": n_blocks, "channels": w.shape[0]}, scale=2**ups,
                     scale_evidence=f"{ups} x2 pixel-shuffle stages in {last}")


@register_detector("Fast-SRGAN-SRResNet")
def detect_fast_srgan(state: StateDict) -> Detection | None:
    if not {"neck.0.weight", "stem.0.conv1.weight", "upsampling.0.conv.weight", "head.0.weight"} <= state.keys():
        return None
    ups = _count(state, r"upsampling\.\d+\.conv\.weight")
    cfg = {"n_filters": state["neck.0.weight"].shape[0], "n_layers": _count(state, r"stem\.\d+\.conv1\.weight")}
    return Detection("Fast-SRGAN-SRResNet", cfg, scale=2**ups, input_range=(-1.0, 1.0),
                     scale_evidence=f"{ups} x2 pixel-shuffle stages", notes=["input/output range [-1,1]"])


def describe(state: StateDict, limit: int = 6) -> str:
    """A short description of a state dict for error messages (first keys with shapes)."""
    items = list(state.items())[:limit]
    txt = ", ".join(f"{k}{tuple(v.shape)}" if isinstance(v, torch.Tensor) else k for k, v in items)
    return f"{len(state)} tensors: {txt}{', ...' if len(state) > limit else ''}"


@register_detector("VDSR")
def detect_vdsr(state: StateDict) -> Detection | None:
    if not {"input.weight", "residual_layer.0.conv.weight", "output.weight"} <= state.keys():
        return None
    first = state["input.weight"]
    cfg = {"depth": _count(state, r"residual_layer\.\d+\.conv\.weight") + 2, "features": first.shape[0],
           "channels": first.shape[1]}
    return Detection("VDSR", cfg, scale=4, scales=(2, 3, 4), grey=first.shape[1] == 1,
                     scale_evidence="pre-upsampling network (bicubic input), trained jointly for x2/x3/x4",
                     notes=["Y-channel model on the bicubic-upsampled image"])
