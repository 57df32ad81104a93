"""Locations, devices and YAML-backed typed configs shared by every command."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import yaml

from .errors import SrprintError

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


def srprint_home() -> Path:
    """Root of the artifact cache (zoos, renders, runs): ``$SRPRINT_HOME`` or ``~/.cache/srprint``."""
    return Path(os.environ.get("SRPRINT_HOME", Path.home() / ".cache" / "srprint")).expanduser()


def shared_dir() -> Path:
    """The read-only shared data folder: ``$SRPRINT_SHARED`` or ``../shared`` beside the checkout."""
    env = os.environ.get("SRPRINT_SHARED")
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared"
        if (parent / "pyproject.toml").exists() and candidate.exists():
            return candidate
    return Path.cwd().parent / "shared"


def shared_data_dir() -> Path:
    return shared_dir() / "data"


# device files a GPU driver creates on Linux: NVIDIA, AMD ROCm (torch.cuda too) and WSL2's GPU paravirtualisation
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def gpu_device_nodes() -> bool:
    """Whether this machine may have a GPU torch can use: False only on Linux with no GPU driver's device file.

    Without one, ``torch.cuda.is_available()`` is False, so ``auto`` can mean CPU without importing torch.
    Elsewhere (other systems) the answer is True: torch is asked.
    """
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(node) for node in GPU_DEVICE_NODES)


def resolve_device(device: str = "auto") -> str:
    """Map ``auto|cpu|cuda[:N]`` to a concrete torch device string: srprint's one device rule.

    Called only by :func:`resolves_device` (a test checks it): functions take ``device`` and are
    decorated, so the rule is applied at one place.

    Parameters
    ----------
    device : str
        ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    str
        ``cpu`` or ``cuda[:N]``.

    Raises
    ------
    SrprintError
        If CUDA is asked for but is not available on this machine, or ``device`` names no device.
    """
    if device == "cpu":  # no torch import: a command's option checks stay fast
        return device
    if device == "auto" and not gpu_device_nodes():
        return "cpu"  # what torch would answer here, without its import (seconds) before a command's checks
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SrprintError(f"--device {device} requested but CUDA is not available on this machine")
    if device != "cpu" and not device.startswith("cuda"):
        raise SrprintError(f"unknown device {device!r}: use auto, cpu or cuda[:N]")
    return device


def resolves_device(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: ``fn``'s ``device`` argument arrives resolved by :func:`resolve_device`.

    This is the one place a device name is resolved: every public function and every library
    function that touches torch takes ``device="auto"|"cpu"|"cuda[:N]"`` and is decorated, so a
    resolved name passes through unchanged and ``auto`` means the same thing everywhere.

    Parameters
    ----------
    fn : callable
        A function with a ``device`` parameter.

    Returns
    -------
    callable
        ``fn``, with ``device`` resolved before the call (same signature and docstring).

    Raises
    ------
    TypeError
        If ``fn`` has no ``device`` parameter.

    Examples
    --------
    >>> @resolves_device
    ... def where(*, device: str = "auto") -> str:
    ...     return device
    >>> where(device="cpu")
    'cpu'
    >>> where() in ("cpu", "cuda")
    True
    """
    sig = inspect.signature(fn)
    if "device" not in sig.parameters:
        raise TypeError(f"{fn.__qualname__} has no device parameter")

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        bound.arguments["device"] = resolve_device(bound.arguments["device"])
        return fn(*bound.args, **bound.kwargs)

    return wrapper


def config_hash(obj: Any, length: int = 12) -> str:
    """Stable short hash of a JSON-able config (dataclasses allowed); keys artifact caches."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with a clear error for missing / malformed files.

    Raises
    ------
    SrprintError
        On: "config file not found: …"; or "invalid YAML (…)".
    """
    p = Path(path)
    if not p.is_file():
        raise SrprintError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise SrprintError(f"{p}: invalid YAML ({first})") from exc
    if not isinstance(data, dict):
        raise SrprintError(f"{p}: expected a YAML mapping at the top level")
    return data


def dataclass_from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys with a clear message.

    Raises
    ------
    SrprintError
        On: "unknown key(s) …; allowed: …".
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise SrprintError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
    return cls(**data)
