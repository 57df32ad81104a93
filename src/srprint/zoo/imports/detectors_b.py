"""Detectors for the NTIRE efficient-SR ports: BSRN, FMEN, EFDN, MobileSR, SAFMN (NTIRE 2023), SPAN (slim).

Each detector recognises its release's key layout, reads the config and scale off tensor shapes,
and accepts the state dict only if a module built from that config has exactly the same keys and
shapes (so a look-alike layout is never half-loaded).
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from ..archs import create_arch, ports_b_bsrn, ports_b_efdn, ports_b_fmen, ports_b_mobilesr, ports_b_safmn, ports_b_span  # noqa: F401
from .detection import Detection, StateDict, register_detector

_NESTING_KEYS = ("params_ema", "params", "net", "state_dict", "model")


def unwrap_state(sd: dict[str, Any]) -> tuple[StateDict, list[str]]:
    """Return the tensor dict inside a training checkpoint (``{'net': {...}, 'optimizer': ...}``)."""
    notes: list[str] = []
    for _ in range(3):
        inner = next((k for k in _NESTING_KEYS if isinstance(sd.get(k), dict)), None)
        if inner is None or all(isinstance(v, torch.Tensor) for v in sd.values()):
            break
        sd = sd[inner]
        notes.append(f"weights taken from nested key {inner!r}")
    return {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}, notes


def _count(sd: StateDict, pattern: str) -> int:
    """Number of distinct indices ``N`` in keys matching ``pattern`` (a regex with one ``(\\d+)`` group)."""
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if (m := rx.match(k))})


def _pixelshuffle_scale(out_channels: int, colours: int = 3) -> int | None:
    s = math.isqrt(out_channels // colours)
    return s if s * s * colours == out_channels and s >= 1 else None


def fits(arch: str, scale: int, config: dict[str, Any], sd: StateDict) -> bool:
    """Whether ``arch(scale, **config)`` has exactly the keys and shapes of ``sd``."""
    try:
        ref = create_arch(arch, scale, config=config).state_dict()
    except Exception:  # noqa: BLE001  (a config read off a foreign layout may not even build)
        return False
    return ref.keys() == sd.keys() and all(ref[k].shape == sd[k].shape for k in ref)


def _detection(arch: str, scale: int | None, config: dict[str, Any], sd: StateDict, notes: list[str],
               evidence_key: str, input_range: tuple[float, float] = (0.0, 1.0)) -> Detection | None:
    if scale is None or not fits(arch, scale, config, sd):
        return None
    evidence = f"{evidence_key} has shape {tuple(sd[evidence_key].shape)}, i.e. x{scale}"
    return Detection(arch=arch, arch_config=config, scale=scale, task="sr", input_range=input_range,
                     loader="registry", state=sd if notes else None, notes=notes, scale_evidence=evidence)


@register_detector("BSRN")
def detect_bsrn(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"fea_conv.pw.weight", "B1.cw", "upsampler.upsampleOneStep.0.weight"} <= sd.keys():
        return None
    cfg = {"num_feat": int(sd["fea_conv.pw.weight"].shape[0]), "num_block": _count(sd, r"B(\d+)\.cw$")}
    key = "upsampler.upsampleOneStep.0.weight"
    return _detection("BSRN", _pixelshuffle_scale(sd[key].shape[0]), cfg, sd, notes, key)


@register_detector("FMEN")
def detect_fmen(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"warmup.1.squeeze.weight", "hfabs.0.excitate.weight", "lr_conv.weight", "tail.0.weight"} <= sd.keys():
        return None
    down = _count(sd, r"basic_blocks\.(\d+)\.conv1\.")
    up = [_count(sd, r"warmup\.1\.convs\.(\d+)\.conv1\.")]
    up += [_count(sd, rf"hfabs\.{i}\.convs\.(\d+)\.conv1\.") for i in range(down)]
    cfg = {"n_feats": int(sd["head.weight"].shape[0]), "mid_feats": int(sd["hfabs.0.squeeze.weight"].shape[0]),
           "down_blocks": down, "up_blocks": up, "warmup_mid": int(sd["warmup.1.squeeze.weight"].shape[0])}
    notes = [*notes, "expects input in [0,255] (NTIRE 2022 test_demo data_range=255)"]
    return _detection("FMEN", _pixelshuffle_scale(sd["tail.0.weight"].shape[0]), cfg, sd, notes, "tail.0.weight",
                      (0.0, 255.0))


@register_detector("EFDN")
def detect_efdn(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"cells.0.conv1.conv1x1.weight", "cells.0.att.conv_max.weight", "local_fuse.0.weight",
            "tail.0.weight"} <= sd.keys():
        return None
    cfg = {"n_feats": int(sd["head.weight"].shape[0])}
    return _detection("EFDN", _pixelshuffle_scale(sd["tail.0.weight"].shape[0]), cfg, sd, notes, "tail.0.weight")


@register_detector("MobileSR")
def detect_mobilesr(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"body.layers.0.0.attn.qkv.weight", "upsapling.0.weight", "fuse.weight", "tail.weight"} <= sd.keys():
        return None
    n_feats = int(sd["head.weight"].shape[0])
    n_layers = _count(sd, r"body\.layers\.(\d+)\.0\.")
    ratios = [int(sd[f"body.layers.{i}.0.mlp.fc.0.weight"].shape[0]) // n_feats for i in range(n_layers)]
    if "upsapling.2.weight" in sd:
        scale: int | None = 4
    else:
        s = math.isqrt(int(sd["upsapling.0.weight"].shape[0]) // n_feats)
        scale = s if s * s * n_feats == sd["upsapling.0.weight"].shape[0] else None
    cfg = {"n_feats": n_feats, "n_heads": 8, "window": 8, "ratios": ratios}
    notes = [*notes, "attention heads (8) and window (8) are not visible in the weights: release defaults"]
    key = "upsapling.2.weight" if "upsapling.2.weight" in sd else "upsapling.0.weight"
    return _detection("MobileSR", scale, cfg, sd, notes, key)


@register_detector("SAFMN-NTIRE23")
def detect_safmn_ntire23(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"norm.gamma", "to_feat.weight", "feats.0.safm.mfr.0.weight", "to_img.0.weight"} <= sd.keys():
        return None
    dim = int(sd["to_feat.weight"].shape[0])
    cfg = {"dim": dim, "n_blocks": _count(sd, r"feats\.(\d+)\.safm\."),
           "ffn_scale": float(sd["feats.0.ccm.ccm.0.weight"].shape[0]) / dim}
    return _detection("SAFMN-NTIRE23", _pixelshuffle_scale(sd["to_img.0.weight"].shape[0]), cfg, sd, notes,
                      "to_img.0.weight")


@register_detector("SPAN-NTIRE24")
def detect_span_reparam(raw: StateDict) -> Detection | None:
    sd, notes = unwrap_state(raw)
    if not {"conv_1.eval_conv.weight", "block_1.c1_r.eval_conv.weight", "conv_cat.weight",
            "upsampler.0.weight"} <= sd.keys() or "conv_1.sk.weight" in sd:
        return None
    cfg = {"feature_channels": int(sd["conv_1.eval_conv.weight"].shape[0])}
    return _detection("SPAN-NTIRE24", _pixelshuffle_scale(sd["upsampler.0.weight"].shape[0]), cfg, sd, notes,
                      "upsampler.0.weight")
