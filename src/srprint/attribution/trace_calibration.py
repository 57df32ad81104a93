"""The calibration of a trace, shared by the pixel path (:mod:`.trace`) and the JPEG path (:mod:`.jpeg_decide`).

The photos a candidate is calibrated on (real photographs no model made, never a set the trace benchmark
scores) and the Student-t predictive test of a traced statistic against a candidate's calibration sample.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from ..errors import SrprintError

# bundled photos used for calibration; the demo's held-out photo (coffee) is never among them
CALIBRATION_PHOTOS = ("astronaut", "chelsea", "rocket", "immunohistochemistry", "retina")
# shared photo sets used for calibration when the shared data is present (render corpus, never scored)
CALIBRATION_SETS = ("Set5",)
# photo sets the trace benchmark scores (bench/trace.py): calibration never reads them
SCORED_SETS = ("McMaster", "LIVE1", "Urban100")


def calibration_sources() -> list[tuple[str, np.ndarray]]:
    """The calibration photos, ``(name, RGB float)``: :data:`CALIBRATION_PHOTOS` of scikit-image, then
    :data:`CALIBRATION_SETS` of the shared data when present. Never a photo of :data:`SCORED_SETS`.

    Raises
    ------
    SrprintError
        If a calibration set is one the benchmark scores (a programming error caught at run time).
    """
    from ..io.images import read_image, skimage_photos

    if set(CALIBRATION_SETS) & set(SCORED_SETS):
        raise SrprintError(f"calibration sets {CALIBRATION_SETS} overlap the scored sets {SCORED_SETS}")
    photos = skimage_photos()
    out = [(f"skimage:{k}", photos[k][..., :3]) for k in CALIBRATION_PHOTOS if k in photos]
    with contextlib.suppress(Exception):  # the shared data is optional: scikit-image's photos remain
        from ..zoo.training_sets import shared_images

        for f in shared_images(CALIBRATION_SETS):
            out.append((f"{Path(f).parent.name}:{Path(f).name}", read_image(f)[..., :3]))
    return out


def calibration_photos(n: int, size: int) -> list[np.ndarray]:
    """``n`` photo crops of ``size`` px, taken round-robin over :func:`calibration_sources` (centre, then
    the four quarter points, then the mid-edges of each photo), saved as 8 bits.

    Raises
    ------
    SrprintError
        On: "only … calibration crops are available, … asked".
    """
    per_photo: list[list[np.ndarray]] = []
    for _, img in calibration_sources():
        h, w = img.shape[:2]
        if h < size or w < size:
            continue
        spots = ((h // 2 - size // 2, w // 2 - size // 2), (h // 4, w // 4), (3 * h // 4 - size, w // 4),
                 (h // 4, 3 * w // 4 - size), (3 * h // 4 - size, 3 * w // 4 - size), (h // 2 - size // 2, 0),
                 (0, w // 2 - size // 2), (h - size, w // 2 - size // 2))
        # inside the photo: a spot past the far edge (a quarter point of a photo less than 4/3 of the side
        # wide: Set5's woman at a x2 JPEG calibration's 192 px) moves in, so every crop is size x size
        spots = tuple((min(max(y0, 0), h - size), min(max(x0, 0), w - size)) for y0, x0 in spots)
        per_photo.append([np.asarray(img[y0:y0 + size, x0:x0 + size], dtype=np.float32) for y0, x0 in spots])
    crops = [p[k] for k in range(8) for p in per_photo]
    if n > len(crops):
        raise SrprintError(f"only {len(crops)} calibration crops are available, {n} asked")
    # 8-bit, as a saved image is: the photo is what a model's saved output would be compared with
    return [np.round(c * 255) / 255 for c in crops[:n]]


def null_test(ratio: float, null: list[float]) -> dict[str, float]:
    """Lower-tail t-predictive p-value of ``log ratio`` under the null sample ``log null``.

    Raises
    ------
    SrprintError
        On: "a calibration needs at least 3 residuals, got …".
    """
    z0 = np.log(np.maximum(np.asarray(null, dtype=np.float64), 1e-30))
    m = z0.size
    if m < 3:
        raise SrprintError(f"a calibration needs at least 3 residuals, got {m}")
    z = math.log(max(ratio, 1e-30))
    sd = max(float(z0.std(ddof=1)), 1e-6)
    t = (z - float(z0.mean())) / (sd * math.sqrt(1 + 1 / m))
    return {"p_value": float(student_t.cdf(t, df=m - 1)), "t": float(t), "null_min": float(np.min(null)),
            "null_median": float(np.median(null)), "null_n": m}


def reference_results(key: dict[str, Any], compute: Callable[[], list[Any]], *, n: int,
                      use_cache: bool = True) -> list[Any]:
    """The structure-free reference's results on calibration crops that do not depend on the candidate.

    Every candidate of one scale is calibrated against the bicubic reference on the same crops, and the
    reference's search is as long as the candidate's: computed once, it serves them all (the results are
    those :func:`compute` returns; the search is deterministic, so a cached value is the one it would give).

    Parameters
    ----------
    key : dict
        Everything the reference's results depend on (scale, crop side, settings, file structure); hashed.
    compute : callable
        Returns the results, one JSON-able value per crop.
    n : int
        The number of crops: a cached list of another length is recomputed.
    use_cache : bool
        Read and write ``$SRPRINT_HOME/trace/calibration/ref-<hash>.json``.

    Returns
    -------
    list
        One result per crop.
    """
    from ..config import config_hash, srprint_home

    path = srprint_home() / "trace" / "calibration" / f"ref-{config_hash(key)}.json"
    vals = read_cached_list(path, "results", n) if use_cache else None
    if vals is None:
        vals = compute()
        if use_cache:
            write_cache(path, {"key": key, "results": vals})
    return vals


def read_cached_list(path: Path, field: str, n: int, *, item: type | None = None) -> list[Any] | None:
    """The list a calibration cache holds under ``field``, when it has ``n`` values (each an ``item``, when
    given); None when the file is missing, corrupt or of another length (the caller recomputes)."""
    if not path.is_file():
        return None
    try:
        vals = json.loads(path.read_text())[field]
    except (json.JSONDecodeError, KeyError, TypeError, OSError):
        return None  # a corrupt cache entry is recomputed
    if not isinstance(vals, list) or len(vals) != n:
        return None
    if item is not None and not all(isinstance(v, item) for v in vals):
        return None
    return vals


def write_cache(path: Path, record: dict[str, Any]) -> None:
    """Store a calibration cache atomically; an unwritable cache costs time, not the result."""
    from ..io.atomic import atomic_write_json

    with contextlib.suppress(OSError):
        atomic_write_json(path, record)
