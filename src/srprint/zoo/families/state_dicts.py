"""Shape reading shared by the state-dict detectors of the published families.

Each helper reads one thing off a state dict: how many blocks a key pattern has, the pixel-shuffle
factor of an upsampler, the tensors inside a training checkpoint, or whether a built network has
exactly the state dict's keys and shapes.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from ..archs import create_arch
from ..detection import Detection, StateDict

_NESTING_KEYS = ("params_ema", "params", "net", "state_dict", "model")


def count_keys(state: StateDict, pattern: str) -> int:
    rx = re.compile(pattern)
    return sum(1 for k in state if rx.fullmatch(k))


def shuffle_factor(state: StateDict, key: str, out_channels: int = 3) -> tuple[int, str] | None:
    """Pixel-shuffle factor r from a conv producing ``out_channels * r^2`` channels."""
    n = state[key].shape[0]
    r = int(round(math.sqrt(n / out_channels)))
    if r < 1 or out_channels * r * r != n:
        return None
    return r, f"{key} has {n} = {out_channels}*{r}^2 output channels"


def shuffle_tail(state: StateDict, keys: set[str], tail: str = "upsampler.0.weight") -> tuple[int, str] | None:
    """The pixel-shuffle factor of ``tail`` in a layout that has all of ``keys`` (and ``tail``); else None."""
    if not keys | {tail} <= state.keys():
        return None
    return shuffle_factor(state, tail)


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


def count_indices(sd: StateDict, pattern: str) -> int:
    """Number of distinct indices ``N`` in keys matching ``pattern`` (a regex with one ``(\\d+)`` group)."""
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if (m := rx.match(k))})


def pixelshuffle_scale(out_channels: int, colours: int = 3) -> int | None:
    s = math.isqrt(out_channels // colours)
    return s if s * s * colours == out_channels and s >= 1 else None


def fits(arch: str, scale: int, config: dict[str, Any], sd: StateDict) -> bool:
    """Whether ``arch(scale, **config)`` has exactly the keys and shapes of ``sd``."""
    try:
        ref = create_arch(arch, scale, config=config).state_dict()
    except Exception:  # noqa: BLE001  (a config read off a foreign layout may not even build)
        return False
    return ref.keys() == sd.keys() and all(ref[k].shape == sd[k].shape for k in ref)


def port_detection(arch: str, scale: int | None, config: dict[str, Any], *, sd: StateDict, notes: list[str],
                   evidence_key: str, input_range: tuple[float, float] = (0.0, 1.0)) -> Detection | None:
    if scale is None or not fits(arch, scale, config, sd):
        return None
    evidence = f"{evidence_key} has shape {tuple(sd[evidence_key].shape)}, i.e. x{scale}"
    return Detection(arch=arch, arch_config=config, scale=scale, task="sr", input_range=input_range,
                     loader="registry", state=sd if notes else None, notes=notes, scale_evidence=evidence)
