"""The one safe loader for model weights: safetensors, or ``torch.load(weights_only=True)``.

Nothing here ever unpickles arbitrary objects unless the caller passes ``allow_pickle=True``
(an explicit, loudly-warned opt-in for files the user trusts).
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError, UnsafeCheckpointError
from .atomic import atomic_save
from .outputs import check_input_file

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".pkl", ".pickle")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def save_weights(path: str | Path, state: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Atomically save a flat ``name -> tensor`` dict as safetensors (contiguous CPU copies).

    Raises
    ------
    OSError
        If the file cannot be written (disk full, file too large, permissions): safetensors' own
        error is turned back into the ``OSError`` it wraps, so callers and the CLI see one kind.
    """
    clean = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}

    def write(tmp: Path) -> None:
        try:
            save_file(clean, str(tmp), metadata=metadata)
        except SafetensorError as exc:
            found = re.search(r"os error (\d+)", str(exc))
            code = int(found.group(1)) if found else errno.EIO
            raise OSError(code, os.strerror(code), str(path)) from exc

    atomic_save(path, write)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load one of our own safetensors files, with a clear error when it is missing or corrupt.

    Raises
    ------
    CheckpointError
        On: "checkpoint not found: …"; or "corrupt or truncated safetensors file (…)".
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{p}: corrupt or truncated safetensors file ({exc})") from exc


def check_checkpoint_file(p: Path) -> None:
    """Refuse a missing, folder or empty checkpoint path with a :class:`CheckpointError`.

    Raises
    ------
    CheckpointError
        On: "checkpoint not found: …"; or "expected a checkpoint file, got a directory: …".
    """
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    if p.is_dir():
        raise CheckpointError(f"expected a checkpoint file, got a directory: {p}")
    check_input_file(p, what="checkpoint")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: empty file")


def load_torch_file(path: str | Path, allow_pickle: bool = False) -> Any:
    """Load a ``.pth/.pt`` file with ``weights_only=True``; refuse anything that needs code.

    Parameters
    ----------
    path : path
        The checkpoint.
    allow_pickle : bool
        Fall back to full unpickling (runs code from the file!) when the safe load refuses it.

    Raises
    ------
    UnsafeCheckpointError
        The file holds pickled objects beyond tensors/containers and ``allow_pickle`` is False.
    CheckpointError
        The file is missing, truncated or not a torch checkpoint.
    """
    p = Path(path)
    check_checkpoint_file(p)
    try:
        return torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).split("\n")
        detail = next((line.strip() for line in reason if "GLOBAL" in line or "Unsupported" in line), reason[0])
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{p}: refused, the file needs full unpickling, which can run arbitrary code "
                f"({detail[:160]}); re-save it as a state dict or pass --allow-pickle if you trust it"
            ) from exc
        warnings.warn(f"UNSAFE: unpickling {p} with full pickle; this runs code from the file", stacklevel=2)
        try:
            return torch.load(str(p), map_location="cpu", weights_only=False)
        except Exception as exc2:  # noqa: BLE001 - any failure of a foreign file is a checkpoint error
            raise CheckpointError(f"{p}: could not be loaded even with --allow-pickle ({exc2})") from exc2
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{p}: corrupt, truncated or not a PyTorch checkpoint ({msg[:200]})") from exc


def load_state_dict(path: str | Path, allow_pickle: bool = False) -> dict[str, Any]:
    """Load weights from ``.safetensors`` or a torch file, safely (see :func:`load_torch_file`).

    Raises
    ------
    CheckpointError
        On: "expected a state dict, found …".
    """
    p = Path(path)
    check_checkpoint_file(p)
    if p.suffix == ".safetensors":
        return dict(load_weights(p))
    obj = load_torch_file(p, allow_pickle=allow_pickle)
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, dict):
        raise CheckpointError(f"{p}: expected a state dict, found {type(obj).__name__}")
    return obj
