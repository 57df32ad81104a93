"""A source's nulls, kept on disk: a registered model pays for them once, each later check only for its pair.

The two nulls of :func:`~.ownership.verify_models` (the function stage's agreements with independent
reference models, and the lineage statistic of random re-initialisations and reference models of the
suspect's architecture) depend on the source, the reference set and the code that computes them, not on
the suspect's weights. Computing them is most of a cold verdict's time (a published x4 source: ~20 s of
~25 s). They are stored under ``$SRPRINT_HOME/cache/verification/nulls/`` as small JSON files, keyed by
a hash of:

* the source's weights (every tensor of its state dict: a renamed or moved file hits, an edited one misses);
* each reference's id and the size and modification time of the files in its folder;
* the parameters (task, scale, the suspect architecture's parameter shapes, ``n_random``, the method);
* :data:`STATISTIC_VERSION`, the version of what the modules that compute the statistic (``alignment``,
  ``lineage``, ``functional``) return, so a change of method never reads an old null while a refactor that
  changes no value keeps them (``tests/verification/test_statistic_version.py`` fails when those modules'
  values on a tiny pair change and the version did not).

A value read back is validated (a list of finite floats and string ids of one length) before use; anything
else is recomputed and overwritten, so a corrupt or hostile cache file cannot decide a verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..config import srprint_home
from ..io.atomic import atomic_write_json

CACHE_DIR = ("cache", "verification", "nulls")
# Bump with every change of what alignment, lineage or functional compute (exact_test is reported beside
# the verdict, in no null). Until v3.5 the key held a hash of those modules' text, which threw away every
# stored null at each edit, a comment's included; v3.5's entry is that hash as it was when v3.5 was frozen,
# so the nulls stored under v3.5 stay valid. (v3.6, the weight-matched frame, was withdrawn: its nulls were
# stored under "v3.6" and are never read by v3.5.) v3.7 adds the identity frame (alignment.identity_frame).
STATISTIC_VERSION = "v3.7"
_VERSION_KEYS = {"v3.5": "7af05b75ea8daa38"}


def _statistic_key() -> str:
    return _VERSION_KEYS.get(STATISTIC_VERSION, STATISTIC_VERSION)


def _cache_path(kind: str, key: dict[str, Any], suffix: str, home: Path | None) -> Path:
    """Where a cached value of ``kind`` for ``key`` (plus the statistic's version) is stored."""
    full = {"kind": kind, **key, "code": _statistic_key()}
    digest = hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return (home or srprint_home()).joinpath(*CACHE_DIR, f"{kind}-{digest}.{suffix}")


def model_digest(model: Any) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes and values), first 24 hex digits."""
    import torch

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:24]


def entry_key(entry: Any) -> str:
    """The in-memory key of a zoo entry: its folder, or its id when it has none (one entry, one key, in
    every memo: the loaded models, the captures, the digests)."""
    return str(entry.path) if entry.path is not None else entry.id


def entry_digest(entry: Any, load: Callable[[Any], Any], memo: dict[Any, Any]) -> str:
    """:func:`model_digest` of a zoo entry's model, computed once per ``memo`` (a verdict's shared cache)."""
    key = ("digest", entry_key(entry))
    if key not in memo:
        memo[key] = model_digest(load(entry))
    return memo[key]


def shape_signature(model: Any) -> str:
    """Hash of a module's parameter names and shapes: what its random re-initialisations depend on."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(f"{name}|{tuple(t.shape)};".encode())
    return h.hexdigest()[:16]


def entry_identity(entry: Any) -> str:
    """A reference's identity for the key: its id and its folder's files (name, size, mtime)."""
    path = getattr(entry, "path", None)
    parts = [str(entry.id)]
    if path is not None and Path(path).is_dir():
        for f in sorted(Path(path).iterdir()):
            if f.is_file():
                st = f.stat()
                parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _valid(value: Any, values_key: str) -> bool:
    if not isinstance(value, dict):
        return False
    vals, models = value.get(values_key), value.get("models")
    return (isinstance(vals, list) and isinstance(models, list)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vals)
            and all(isinstance(m, str) for m in models))


def cached_null(kind: str, key: dict[str, Any], references: Iterable[Any], compute: Callable[[], dict[str, Any]],
                *, values_key: str, home: Path | None = None) -> dict[str, Any]:
    """``compute()``, or its stored result for the same key.

    Parameters
    ----------
    kind : str
        ``"function"`` or ``"lineage"``: which null.
    key : dict
        JSON-serialisable parameters of the null (the source's digest among them).
    references : iterable of ZooEntry
        The reference models the null may use (their identities join the key).
    compute : callable
        Computes the null: a dict with ``values_key`` (list of floats) and ``models`` (list of ids).
    values_key : str
        Name of the list of statistic values in the dict.
    home : Path, optional
        Cache root (default :func:`~srprint.config.srprint_home`).

    Returns
    -------
    dict
        The null, with ``cached`` True when it was read back.

    Raises
    ------
    Exception
        Whatever ``compute`` raises (a cache that cannot be written is skipped).
    """
    path = _cache_path(kind, {**key, "references": [entry_identity(r) for r in references]}, "json", home)
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = None
        if _valid(stored, values_key):
            return {values_key: [float(v) for v in stored[values_key]], "models": list(stored["models"]),
                    "cached": True}
    value = compute()
    with contextlib.suppress(OSError):  # a read-only or full cache costs time, never a verdict
        atomic_write_json(path, {values_key: [float(v) for v in value[values_key]], "models": list(value["models"])})
    return {**value, "cached": False}


def cached_outputs(key: dict[str, Any], compute: Callable[[], Any], *, batch: int, home: Path | None = None) -> Any:
    """``compute()`` (a source's outputs on the functional probes), or its stored copy for the same key.

    A check against a registered owner then runs one model on the probes, not two. The outputs are stored
    bit for bit (safetensors, float32), so a verdict is the same with or without them.

    Parameters
    ----------
    key : dict
        JSON-serialisable parameters of the outputs (the source's digest, task, scale, probe shape, device).
    compute : callable
        Returns the outputs: a float32 tensor ``(batch, C, H, W)`` in ``[0, 1]``.
    batch : int
        Number of probe images; a stored tensor of another batch size is not read back.
    home : Path, optional
        Cache root (default :func:`~srprint.config.srprint_home`).

    Returns
    -------
    torch.Tensor
        The outputs.

    Raises
    ------
    Exception
        Whatever ``compute`` raises (a cache that cannot be written is skipped).
    """
    import torch

    from ..io.checkpoints import CheckpointError, load_weights, save_weights

    path = _cache_path("outputs", key, "safetensors", home)
    if path.is_file():
        try:
            stored = load_weights(path).get("outputs")
        except CheckpointError:
            stored = None
        if (isinstance(stored, torch.Tensor) and stored.dtype == torch.float32 and stored.dim() == 4
                and stored.shape[0] == batch and bool(torch.isfinite(stored).all())
                and float(stored.min()) >= 0.0 and float(stored.max()) <= 1.0):
            return stored
    value = compute()
    with contextlib.suppress(OSError):  # a read-only or full cache costs time, never a verdict
        save_weights(path, {"outputs": value.detach().cpu().contiguous()})
    return value
