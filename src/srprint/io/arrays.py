"""Read srprint's own ``.npy`` and ``.json`` side files as untrusted input: one clear error, never a pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError


def read_npy(path: str | Path, *, ndim: int | None = None) -> np.ndarray:
    """Load a numeric ``.npy`` array without unpickling.

    Parameters
    ----------
    path : str or Path
        The file.
    ndim : int, optional
        Required number of dimensions.

    Returns
    -------
    numpy.ndarray
        The array (a numeric dtype).

    Raises
    ------
    DatasetError
        If the file is missing, truncated, not a ``.npy`` file, holds objects (a pickle), is not
        numeric, or has the wrong number of dimensions.
    """
    p = Path(path)
    try:
        arr = np.load(p, allow_pickle=False)
    except FileNotFoundError as exc:
        raise DatasetError(f"{p}: file not found") from exc
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{p}: corrupt or unsafe array file ({exc}); delete it and rerun") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise DatasetError(f"{p}: not a numeric array file; delete it and rerun")
    if ndim is not None and arr.ndim != ndim:
        raise DatasetError(f"{p}: expected a {ndim}-d array, found shape {arr.shape}; delete it and rerun")
    return arr


def read_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file.

    Raises
    ------
    DatasetError
        If the file is missing, not UTF-8 or not valid JSON.
    """
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(f"{p}: file not found") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{p}: corrupt JSON file ({exc})") from exc


def read_json_or_none(path: str | Path) -> Any:
    """Parse an optional JSON file; ``None`` when it is missing, unreadable, not UTF-8 or corrupt.

    For markers and summaries whose absence means "not done yet" (a killed writer leaves them
    half-written), where :func:`read_json`'s error would be wrong.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: JSONDecodeError and UnicodeDecodeError
        return None
