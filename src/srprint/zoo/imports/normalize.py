"""Turn whatever a checkpoint file holds into a flat ``name -> float tensor`` state dict.

Training scripts wrap weights in many ways: ``{'state_dict': ...}``, BasicSR's ``params`` /
``params_ema``, ``{'net': ..., 'optimizer': ...}``, DataParallel's ``module.`` prefix,
``torch.compile``'s ``_orig_mod.``. Every step applied is recorded, so the zoo record can say how
the stored weights relate to the file.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...errors import CheckpointError

# nesting keys tried in order (EMA weights first: they are the ones released models use)
NEST_KEYS = ("params_ema", "params-ema", "params", "state_dict", "model_state_dict", "model", "net", "generator",
             "netG", "g", "G")
STRIP_PREFIXES = ("module.", "_orig_mod.", "model.", "net.", "netG.", "generator.")


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap(obj: Any, where: str = "checkpoint") -> tuple[dict[str, torch.Tensor], list[str]]:
    """Find the state dict inside a loaded checkpoint object (nested dicts, modules).

    Returns
    -------
    state, notes
        The tensors (non-tensor entries such as ``epoch`` dropped) and the unwrapping steps.

    Raises
    ------
    CheckpointError
        On: "expected a state dict, found …"; or "no tensors found (top-level keys: …)".
    """
    notes: list[str] = []
    for _ in range(4):
        if isinstance(obj, nn.Module):
            obj = obj.state_dict()
            notes.append("took state_dict() of a pickled module")
            continue
        if not isinstance(obj, dict):
            raise CheckpointError(f"{where}: expected a state dict, found {type(obj).__name__}")
        if _is_tensor_dict(obj):
            break
        key = next((k for k in NEST_KEYS if k in obj and isinstance(obj[k], dict | nn.Module)), None)
        if key is None:
            subs = [k for k, v in obj.items() if isinstance(v, dict | nn.Module)]
            if len(subs) == 1:
                key = subs[0]
        if key is None:
            tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
            if tensors:
                dropped = sorted(k for k in obj if k not in tensors)
                notes.append(f"dropped non-tensor entries {dropped[:6]}")
                obj = tensors
                break
            raise CheckpointError(f"{where}: no tensors found (top-level keys: {', '.join(map(str, list(obj)[:8]))})")
        notes.append(f"unwrapped '{key}'")
        obj = obj[key]
    if not _is_tensor_dict(obj):
        raise CheckpointError(f"{where}: could not find a state dict inside the checkpoint")
    return dict(obj), notes


def strip_prefixes(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Remove key prefixes shared by every key (``module.``, ``_orig_mod.``, ``model.`` ...)."""
    notes: list[str] = []
    changed = True
    while changed:
        changed = False
        for p in STRIP_PREFIXES:
            if state and all(k.startswith(p) for k in state):
                state = {k[len(p):]: v for k, v in state.items()}
                notes.append(f"stripped '{p}'")
                changed = True
    return state, notes


def to_float(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Half / bfloat16 tensors to float32 (integer buffers such as BN counters kept)."""
    lowp = [k for k, v in state.items() if v.dtype in (torch.float16, torch.bfloat16, torch.float64)]
    if not lowp:
        return state, []
    out = {k: (v.float() if k in lowp else v) for k, v in state.items()}
    return out, [f"cast {len(lowp)} tensors to float32"]


def normalize_state(obj: Any, where: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor],
                                                                  list[str]]:
    """Unwrap nesting, cast to float32 and strip shared prefixes.

    Returns
    -------
    unwrapped, normalized, notes
        ``unwrapped`` keeps the original key names (what spandrel sees first); ``normalized`` has
        shared prefixes stripped (what srprint's detectors see).
    """
    state, notes = unwrap(obj, where)
    state, n2 = to_float(state)
    stripped, n3 = strip_prefixes(state)
    return state, stripped, notes + n2 + n3
