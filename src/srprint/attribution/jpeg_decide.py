"""The JPEG path of :func:`~.trace.trace_image`: per-candidate requantisation test, calibration, verdict.

For each candidate, :func:`~.jpeg_trace.jpeg_invert` searches the input whose 8-bit output lands in the
file's cells and reports the violations of the exact re-encode (:func:`~.jpeg_trace.requantisation_test`).
The statistic is ``s = (violations + 1/2) / n``. It is calibrated per candidate like the 8-bit floor:
the candidate's ``s`` on :func:`~.trace.calibration_photos` (none a traced image) compressed with *this
file's* tables and subsampling, cached under ``$SRPRINT_HOME/trace/calibration`` by (weights sha256,
tables, subsampling, settings). Another upscaler's output is the other way an image can come close
without the candidate: bicubic upscaling at the candidate's scale (:class:`~.inversion.ReferenceModel`)
is searched through the same cells on the same crop. The verdict: *made by C* when C has the smallest
p-value (:func:`~.trace.null_test`), it is below ``alpha``, C's ``s`` is below every calibration value,
and C leaves fewer coefficients outside the cells than bicubic upscaling does.

Why bicubic is a rival and not part of the calibration sample: small near-linear published models
(ESPCN, FSRCNN) put the JPEG of a bicubic upscale into all but 0-10 of 2816 cells at q 90 (measured on
8 calibration crops), so as null members those images made every p-value >= 0.03, while as a rival on
the traced crop itself they only rule out the images bicubic upscaling explains as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from ..config import config_hash, srprint_home
from .jpeg_file import JpegInfo, read_jpeg
from .jpeg_trace import aligned_jpeg_crop, jpeg_invert, pillow_encode


def _statistic(test: dict[str, Any]) -> float:
    return (test["violations"] + 0.5) / max(test["n"], 1) if math.isfinite(test["rate"]) else math.inf


def _search(model: Any, crop: Any, settings: Any) -> Any:
    return jpeg_invert(model, crop, start_steps=settings.jpeg_start_steps, steps=settings.jpeg_steps,
                       lr=settings.lr, start_lr=settings.lr, border=settings.jpeg_border)


def jpeg_calibration(entry: Any, model: Any, info: JpegInfo, side: int, settings: Any, *,
                     use_cache: bool = True) -> list[float]:
    """The statistic ``entry`` reaches on calibration images compressed with ``info``'s tables.

    Parameters
    ----------
    entry, model
        The candidate's zoo entry (for its weights' hash and scale) and its loaded network.
    info : JpegInfo
        The traced file (its tables and subsampling are reused; its pixels are not).
    side : int
        The aligned crop's side in output pixels.
    settings : TraceSettings
        Trace settings (``n_jpeg_calibration`` images).

    Returns
    -------
    list of float
        One value of ``(violations + 1/2) / n`` per calibration image.
    """
    from ..io.atomic import atomic_write_json
    from ..io.checkpoints import sha256_file
    from .trace import calibration_photos

    tables = hashlib.sha256(b"".join(t.astype(np.int32).tobytes() for t in info.qtables)).hexdigest()
    key = config_hash({"sha": sha256_file(entry.weights_path), "tables": tables, "sampling": info.sampling,
                       "side": side, "settings": settings.key(), "jpeg": 2})
    path = srprint_home() / "trace" / "calibration" / f"jpeg-{key}.json"
    if use_cache and path.is_file():
        try:
            vals = json.loads(path.read_text())["statistics"]
            if len(vals) == settings.n_jpeg_calibration and all(isinstance(v, float) for v in vals):
                return vals
        except (json.JSONDecodeError, KeyError, TypeError, OSError):
            pass  # a corrupt cache entry is recomputed
    from PIL import Image

    vals = []
    for img in calibration_photos(settings.n_jpeg_calibration, side):
        data = pillow_encode((np.clip(img, 0, 1) * 255).round().astype(np.uint8), info)
        cinfo = read_jpeg(data)
        with Image.open(io.BytesIO(data)) as im:
            dec = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
        crop = aligned_jpeg_crop(cinfo, dec, max(entry.scale, 1), side)
        vals.append(_statistic(_search(model, crop, settings).test))
    finite = [v for v in vals if math.isfinite(v)]
    with contextlib.suppress(OSError):  # an unwritable cache costs time, not the result
        atomic_write_json(path, {"model": entry.id, "settings": asdict(settings), "statistics": finite})
    return finite


def jpeg_rows(decoded: np.ndarray, info: JpegInfo, entries: list[Any], load: Callable[[Any], Any], *,
              settings: Any, progress: Callable[[str], None] | None = None) -> tuple[list[dict], list[dict]]:
    """Per-candidate rows of the JPEG path (the verdict is :func:`decide_jpeg`'s).

    Returns
    -------
    tuple of (list of dict, list of dict)
        The rows (``id``, ``violations``, ``n``, ``rate``, ``ratio`` = the statistic, ``p_value``, ...) and
        the candidates skipped with a reason.
    """
    from ..errors import SrprintError
    from .inversion import ReferenceModel
    from .trace import null_test

    rows, skipped = [], []
    rivals: dict[tuple[int, int], int] = {}
    for e in entries:
        t0 = time.perf_counter()
        if progress:
            progress(e.id)
        scale = max(e.scale, 1)
        try:
            crop = aligned_jpeg_crop(info, decoded, scale, settings.jpeg_crop)
        except SrprintError as exc:
            skipped.append({"id": e.id, "reason": str(exc)})
            continue
        model = load(e)
        inv = _search(model, crop, settings)
        if not inv.finite:
            skipped.append({"id": e.id, "reason": "inversion produced non-finite values"})
            continue
        s = _statistic(inv.test)
        null = jpeg_calibration(e, model, info, crop.size, settings)
        if (scale, crop.size) not in rivals:
            params = next(iter(model.parameters()), None)
            ref = ReferenceModel(scale).to(params.device if params is not None else "cpu")
            rivals[(scale, crop.size)] = _search(ref, crop, settings).test["violations"]
        rows.append({"id": e.id, "violations": inv.test["violations"], "n": inv.test["n"],
                     "bicubic_violations": rivals[(scale, crop.size)],
                     "residual": inv.test["rate"], "ratio": s, "blocks_exact": inv.test["blocks_exact"],
                     "crop": [crop.y0, crop.x0, crop.size], **null_test(s, null),
                     "seconds": round(time.perf_counter() - t0, 2)})
    return rows, skipped


def decide_jpeg(rows: list[dict[str, Any]], alpha: float) -> dict[str, Any]:
    """The verdict from JPEG rows: the 8-bit rule (smallest p-value, below ``alpha`` and every null value)."""
    ok = [r for r in rows if math.isfinite(r["ratio"])]
    if not ok:
        return {"verdict": "none of these models", "model": None, "p_value": None,
                "explanation": "no candidate could be inverted through the JPEG"}
    ok.sort(key=lambda r: (r["p_value"], r["ratio"]))
    best = ok[0]
    margin = ok[1]["ratio"] / best["ratio"] if len(ok) > 1 and best["ratio"] > 0 else None
    cells = f"{best['violations']} of {best['n']} DCT coefficients outside the file's quantisation cells"
    rival = best.get("bicubic_violations")
    if best["p_value"] < alpha and best["ratio"] < best["null_min"] and rival is not None \
            and rival <= best["violations"]:
        return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
                "closest": best["id"],
                "explanation": f"the closest candidate, {best['id']}, leaves {cells}, but bicubic upscaling "
                               f"leaves {rival}: the JPEG cannot tell this model from a plain upscale"}
    if best["p_value"] < alpha and best["ratio"] < best["null_min"]:
        return {"verdict": "made by", "model": best["id"], "p_value": best["p_value"], "margin": margin,
                "explanation": f"{best['id']} re-encoded with the file's own tables leaves {cells} (bicubic "
                               f"upscaling: {rival}): 1 in {1 / max(best['p_value'], 1e-300):.2g} chance that a "
                               "model that did not make it comes this close"}
    return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
            "closest": best["id"],
            "explanation": f"the closest candidate, {best['id']}, leaves {cells} (p = {best['p_value']:.2g} "
                           "against its calibration at these tables): no candidate made this image"}
