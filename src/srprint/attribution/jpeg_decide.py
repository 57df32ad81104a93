"""The JPEG path of :func:`~.trace.trace_image`: per-candidate requantisation test, calibration, verdict.

For each candidate, :func:`~.jpeg_trace.jpeg_invert` searches the input whose 8-bit output lands in the
file's cells and reports the violations of the exact re-encode (:func:`~.jpeg_trace.requantisation_test`).
The statistic is a ratio, as on the 8-bit path: ``s = (v_C + 1/2) / (v_ref + 1/2)``, where ``v_C`` is
the candidate's violations and ``v_ref`` those of bicubic upscaling at the candidate's scale
(:class:`~.inversion.ReferenceModel`) searched through the same cells on the same crop. Smooth crops
have few informative coefficients and every model fits them (raw counts of 0-16 of 2816 on some photo
crops), which the ratio cancels; where ``v_ref`` is below :data:`MIN_INFORMATIVE` the statistic is not
defined: a traced window that smooth gets *none of these models* (not enough information); calibration
crops that smooth are kept (see :func:`jpeg_calibration`). ``s`` is calibrated per candidate on
:func:`~.trace_calibration.calibration_photos` (none a traced image) compressed with *this file's*
tables and subsampling, cached under ``$SRPRINT_HOME/trace/calibration`` by (weights sha256, tables,
subsampling, settings). The verdict: *made by C* when C has the smallest p-value
(:func:`~.trace_calibration.null_test`), it is below ``alpha``, C's ``s`` is below every calibration
value and below 1 (C beats the plain upscale), and no other candidate passes
the same test, or each other one that passes is ruled out by the sibling rule (:func:`own_tests`): its
statistic lies above what it reaches on its *own* outputs of the calibration photos compressed with the
same tables (upper-tail p below :data:`OWN_ALPHA`). Two or more that pass and are not ruled out are
reported as *none of these models* (the JPEG cannot tell them apart), never as a confident pick.
Last, the rival rule (:func:`rival_tests`): the candidate to be named must also fit this file closer than it
fits the *other* candidates' outputs of the calibration photos compressed the same way (p below ``alpha``
and below all of them): a flexible model lands in the cells of a simpler model's JPEG, and only the first
rule's photos would not show it. When two or more pass the photo null and exactly one of them passes its
rival test (and its own outputs do not rule it out), it is named: its test sets the others aside (they are
among its rivals), and theirs say they fit other models' outputs as well as this file. Its rivals are every
candidate of the trace, so the rows that confirm a model on the top-K path (:func:`~.trace.trace_image`'s
``propose``, the others never inverted) confirm it when every candidate is inverted too. (Before this, a
second candidate that passed the photo null blocked the first: the demo's q 90 JPEG of EDSR x4 was named on
the top-2 path and *none* with every candidate, where EDSR x2, whose x2 input has four times the free pixels
of a x4 one in the same window, passed its photo null at p 8.7e-4.)
A candidate whose ``s`` is 1 or more (no better than plain upscaling) is never calibrated: it cannot be named.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from ..config import config_hash, srprint_home
from .jpeg_batch import jpeg_invert_batch
from .jpeg_file import JpegInfo, read_jpeg
from .jpeg_trace import aligned_jpeg_crop, jpeg_invert, pillow_encode
from .trace_calibration import read_cached_list, reference_results, write_cache

PSEUDO = 0.5  # violations added to both counts (a crop both fit exactly gives 1)
# the sibling rule: a candidate that passes the photo null is still ruled out as the maker when its own
# outputs leave it this far from the cells less often than this (upper-tail p of its own calibration)
OWN_ALPHA = 0.01
# a window where bicubic upscaling leaves fewer coefficients outside the cells than this carries too little
# evidence: the statistic is not defined there (set a priori: with v_C = 0 it could not go below 0.5 / 16.5;
# measured: a 64-px window of a demo model's q 90 output with 10-12 such cells left s1, s2 and RCAN at 0-3).
# A traced window below it gets *none of these models* (not enough information). Calibration crops below it
# are kept: passing them over for the next ones (bench method 4) tightened the rival rule's null and named
# IMDN-RTC for an ESPCN q 90 JPEG with ESPCN left out (open-set rival p 8e-5; kept, p was 0.004)
MIN_INFORMATIVE = 16
# the rival rule's null (JPEG method 8, issue 27): each calibration photo crop is made by every rival, not by one
# rival in turn (method 7). Chosen on a dev corpus that neither calibration nor the scored sets use (96-px crops of
# the last 3 Kodak24 photos, 4 published x2 models, q 75 and q 90 then 75; bench/results/trace_rival_dev.md), with
# jpeg_decide's rules run as they are on the 39 informative files: the maker named 3 -> 20, a wrong model named in
# the closed set 0 -> 0, in the open set 3 -> 2. It does NOT make the null honest: the open-set false attributions
# left are a model that lands in every cell (0-1 outside) of a near relative's JPEG, as the maker does; no null of
# the other candidates' outputs holds that relative once it is left out
RIVAL_NULL = "every rival"
UNCALIBRATED = {"p_value": 1.0, "t": math.inf, "null_min": None, "null_median": None, "null_n": 0}


def _statistic(test: dict[str, Any], ref: dict[str, Any]) -> float:
    if not (math.isfinite(test["rate"]) and math.isfinite(ref["rate"])):
        return math.inf
    return (test["violations"] + PSEUDO) / (ref["violations"] + PSEUDO)


def _reference(model: Any, scale: int) -> Any:
    from .inversion import ReferenceModel

    params = next(iter(model.parameters()), None)
    return ReferenceModel(scale).to(params.device if params is not None else "cpu")


def _search(model: Any, crop: Any, settings: Any) -> Any:
    return jpeg_invert(model, crop, start_steps=settings.jpeg_start_steps, steps=settings.jpeg_steps,
                       lr=settings.jpeg_lr, start_lr=settings.lr, border=settings.jpeg_border)


def _search_all(model: Any, crops: list[Any], settings: Any) -> list[Any]:
    return jpeg_invert_batch(model, crops, start_steps=settings.jpeg_start_steps, steps=settings.jpeg_steps,
                             lr=settings.jpeg_lr, start_lr=settings.lr, border=settings.jpeg_border)


def _own_output(entry: Any, model: Any, photo: np.ndarray) -> np.ndarray:
    """``model``'s 8-bit output for a calibration photo crop: of its bicubic downscale (8 bits) for a
    x``scale`` model, of the crop with Gaussian noise of sigma 15/255 (8 bits, seed 0) for a same-size one."""
    import torch

    from ..degradation import bicubic_downscale

    scale = max(entry.scale, 1)
    hr = torch.from_numpy(np.ascontiguousarray(np.asarray(photo, np.float32).transpose(2, 0, 1)))[None]
    if scale > 1:
        x = bicubic_downscale(hr, scale, quantize=True)
    else:
        noise = np.random.default_rng(0).normal(0, 15 / 255, hr.shape).astype(np.float32)
        x = torch.round((hr + torch.from_numpy(noise)).clamp(0, 1) * 255) / 255
    params = next(iter(model.parameters()), None)
    with torch.no_grad():
        out = model(x.to(params.device if params is not None else "cpu")).clamp(0, 1)
    return np.round(out[0].cpu().numpy().transpose(1, 2, 0) * 255) / 255


def calibration_path(entry: Any, info: JpegInfo, side: int, settings: Any, *, own: bool = False,
                     rivals: list[Any] | None = None) -> Any:
    """Where :func:`jpeg_calibration` caches a calibration (``rivals``: the rivals' zoo entries, in order)."""
    from ..io.checkpoints import sha256_file

    makers = [sha256_file(e.weights_path) for e in rivals or []]
    # the key of session 3's calibration when there is no context (the same computation: its cache serves)
    key = config_hash({"sha": sha256_file(entry.weights_path), "tables": _tables_digest(info),
                       "sampling": info.sampling, "side": side, "settings": settings.key(),
                       "n_photos": settings.n_jpeg_calibration,
                       "jpeg_lr": settings.jpeg_lr, "own": own, "rivals": makers, "jpeg": 5,
                       **({"rival_null": RIVAL_NULL} if rivals else {}),
                       **({"context": settings.jpeg_context} if settings.jpeg_context else {}),
                       # method 7's x2 window: a x2 candidate's calibrations are new (the others' keys are unchanged)
                       **({"x2_window": settings.jpeg_crop_x2} if max(entry.scale, 1) == 2 else {}),
                       # the crops are searched together (jpeg_batch): the cell search carries the batched kernels'
                       # last-bit differences on to other violation counts (the demo's EDSR x2: up to 49 of ~2000,
                       # the statistic up to 2.7 %; bench/results/trace_batch_calibration.md), so none is mixed in
                       "batch": 1})
    return srprint_home() / "trace" / "calibration" / f"jpeg-{key}.json"


def _tables_digest(info: JpegInfo) -> str:
    return hashlib.sha256(b"".join(t.astype(np.int32).tobytes() for t in info.qtables)).hexdigest()


def _reference_key(info: JpegInfo, scale: int, side: int, settings: Any) -> dict[str, Any]:
    """What the bicubic reference's search on the photo crops depends on (:func:`jpeg_calibration`)."""
    return {"jpeg": scale, "tables": _tables_digest(info), "sampling": info.sampling, "side": side, "batch": 1,
            "settings": settings.key(), "jpeg_lr": settings.jpeg_lr, "context": settings.jpeg_context,
            "n": settings.n_jpeg_calibration, **({"x2_window": settings.jpeg_crop_x2} if scale == 2 else {})}


def calibration_crops(entry: Any, model: Any, info: JpegInfo, side: int, settings: Any, *, own: bool = False,
                      rivals: list[tuple[Any, Any]] | None = None) -> list[Any]:
    """The aligned crops :func:`jpeg_calibration` searches (its parameters), compressed with ``info``'s tables."""
    from PIL import Image

    from .trace_calibration import calibration_photos

    # crops of twice the side, from which the traced crop's rule picks the window (aligned_jpeg_crop). A crop
    # whose window is uninformative (bicubic leaves < MIN_INFORMATIVE outside) is kept: passing it over for the
    # next one (method 4) tightened the rival null and named IMDN-RTC for an ESPCN q 90 JPEG in the open set
    photos = calibration_photos(settings.n_jpeg_calibration, 2 * side)
    if rivals:  # every rival makes every photo crop (RIVAL_NULL)
        made = [_own_output(d, m, img) for img in photos for d, m in rivals]
    else:
        made = [_own_output(entry, model, img) for img in photos] if own else photos
    crops = []
    for img in made:
        data = pillow_encode((np.clip(img, 0, 1) * 255).round().astype(np.uint8), info)
        cinfo = read_jpeg(data)
        with Image.open(io.BytesIO(data)) as im:
            dec = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
        crops.append(aligned_jpeg_crop(cinfo, dec, max(entry.scale, 1), side, context=settings.jpeg_context))
    return crops


def jpeg_calibration(entry: Any, model: Any, info: JpegInfo, side: int, settings: Any, *,
                     use_cache: bool = True, own: bool = False,
                     rivals: list[tuple[Any, Any]] | None = None) -> list[float]:
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
    use_cache : bool
        Read and write the cache under ``$SRPRINT_HOME/trace/calibration``.
    own : bool
        False: the photo crops themselves (no model made them: the null of :func:`decide_jpeg`). True:
        ``entry``'s own outputs of those crops (what the search reaches on images ``entry`` did make:
        the sibling rule's calibration).
    rivals : list of (entry, model), optional
        Other candidates: each calibration photo crop is made by *every* rival in turn (the rival rule's
        calibration: how close ``entry`` comes to images other models made). JPEG method 8; method 7 made crop
        ``k`` by ``rivals[k % len(rivals)]`` only, a null whose p-values were too small for wrong models
        (``RIVAL_NULL``).

    Returns
    -------
    list of float
        One value of the statistic per calibration image (``len(rivals)`` per photo crop with ``rivals``).
    """
    path = calibration_path(entry, info, side, settings, own=own, rivals=[e for e, _ in rivals or []])
    n_images = settings.n_jpeg_calibration * max(len(rivals or []), 1)
    if use_cache and (vals := read_cached_list(path, "statistics", n_images, item=float)) is not None:
        return vals
    crops = calibration_crops(entry, model, info, side, settings, own=own, rivals=rivals)
    # every crop's search at once (jpeg_batch: each crop's own search, up to batched kernels' last bits)
    scale = max(entry.scale, 1)

    def reference() -> list[dict[str, Any]]:
        return [r.test for r in _search_all(_reference(model, scale), crops, settings)]

    if own or rivals:  # crops made by the candidate or its rivals: the reference's results are theirs alone
        refs = reference()
    else:  # photo crops: every candidate of this scale and file structure shares the reference's search
        refs = reference_results(_reference_key(info, scale, side, settings), reference, n=len(crops),
                                 use_cache=use_cache)
    vals = [_statistic(t.test, r) for t, r in zip(_search_all(model, crops, settings), refs, strict=True)]
    finite = [v for v in vals if math.isfinite(v)]
    write_cache(path, {"model": entry.id, "settings": asdict(settings), "own": own,
                       "rivals": [e.id for e, _ in rivals or []], "statistics": finite})
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
    from .trace_calibration import null_test

    rows, skipped = [], []
    rivals: dict[tuple[int, int], dict[str, Any]] = {}
    for e in entries:
        t0 = time.perf_counter()
        if progress:
            progress(e.id)
        scale = max(e.scale, 1)
        try:
            crop = aligned_jpeg_crop(info, decoded, scale, settings.jpeg_window(scale), context=settings.jpeg_context)
        except SrprintError as exc:
            skipped.append({"id": e.id, "reason": str(exc)})
            continue
        model = load(e)
        if (scale, crop.size) not in rivals:
            rivals[(scale, crop.size)] = _search(_reference(model, scale), crop, settings).test
        ref = rivals[(scale, crop.size)]
        if ref["violations"] < MIN_INFORMATIVE:  # no statistic: this candidate is neither searched nor named
            rows.append({"id": e.id, "violations": None, "n": ref["n"], "bicubic_violations": ref["violations"],
                         "residual": math.inf, "ratio": math.inf, "blocks_exact": None, "uninformative": True,
                         "crop": [crop.y0, crop.x0, crop.size], **UNCALIBRATED,
                         "seconds": round(time.perf_counter() - t0, 2)})
            continue
        inv = _search(model, crop, settings)
        if not inv.finite:
            skipped.append({"id": e.id, "reason": "inversion produced non-finite values"})
            continue
        s = _statistic(inv.test, ref)
        # a candidate that does not beat bicubic upscaling (s >= 1) is never named: no calibration is spent on it
        test = null_test(s, jpeg_calibration(e, model, info, crop.size, settings)) if s < 1 else UNCALIBRATED
        rows.append({"id": e.id, "violations": inv.test["violations"], "n": inv.test["n"],
                     "bicubic_violations": rivals[(scale, crop.size)]["violations"],
                     "residual": inv.test["rate"], "ratio": s, "blocks_exact": inv.test["blocks_exact"],
                     "crop": [crop.y0, crop.x0, crop.size], **test,
                     "seconds": round(time.perf_counter() - t0, 2)})
    return rows, skipped


def _passing(rows: list[dict[str, Any]], alpha: float) -> list[dict[str, Any]]:
    """Rows that pass the photo null: p below ``alpha``, ``s`` below every calibration value and below 1."""
    return [r for r in rows if math.isfinite(r["ratio"]) and r["p_value"] < alpha and r["null_min"] is not None
            and r["ratio"] < r["null_min"] and r["ratio"] < 1]


def _rival_passed(row: dict[str, Any], alpha: float) -> bool:
    """Whether ``row``'s rival test was run and passed (or there was no rival to test against)."""
    if "p_rival" not in row:
        return False
    return row["p_rival"] is None or (row["p_rival"] < alpha and row["ratio"] < row["rival_min"])


def own_tests(rows: list[dict[str, Any]], alpha: float, info: JpegInfo, entries: list[Any],
              load: Callable[[Any], Any], *, settings: Any) -> None:
    """The sibling rule's evidence: when two or more rows pass the photo null, each gets ``p_own``.

    ``p_own`` is the upper-tail Student-t predictive p-value of the row's log statistic against the
    statistic the candidate reaches on its *own* outputs of the calibration photos, compressed with the
    file's tables (:func:`jpeg_calibration` with ``own=True``): how often an image the candidate did make
    leaves it this far from the cells. Rows are changed in place; nothing is computed when fewer than two pass.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`jpeg_rows` (``crop`` gives the side the calibration uses).
    alpha : float
        The photo null's significance level.
    info : JpegInfo
        The traced file (its tables and subsampling).
    entries : list
        The candidates' zoo entries (looked up by id).
    load : callable
        Entry -> loaded model.
    settings : TraceSettings
        Trace settings.

    Returns
    -------
    None
    """
    from .trace_calibration import null_test

    passing = _passing(rows, alpha)
    if len(passing) < 2:
        return
    by_id = {e.id: e for e in entries}
    for r in passing:
        if "p_own" in r or r["id"] not in by_id:
            continue
        e = by_id[r["id"]]
        own = jpeg_calibration(e, load(e), info, r["crop"][2], settings, own=True)
        tail = null_test(r["ratio"], own)
        r["p_own"] = 1.0 - tail["p_value"]
        r["own_median"] = tail["null_median"]


def rival_tests(rows: list[dict[str, Any]], alpha: float, info: JpegInfo, entries: list[Any],
                load: Callable[[Any], Any], *, settings: Any) -> None:
    """The rival rule's evidence: ``p_rival`` on the row the other rules would name and, when two or more rows
    pass the photo null, on each of them.

    ``p_rival`` is the lower-tail Student-t predictive p-value of the row's log statistic against the
    statistic the candidate reaches on the *other* candidates' outputs of the calibration photos, compressed
    with the file's tables (:func:`jpeg_calibration` with ``rivals``): a flexible model can land in the cells
    of a simpler model's JPEG (measured: IMDN-RTC left 1 of 2816 coefficients outside on an ESPCN output at
    q 90, as ESPCN itself did), which photos, the null of the first rule, do not show. ``p_rival`` is None
    when no other candidate can make an image of the calibration crops' size. Rows are changed in place.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`jpeg_rows` (after :func:`own_tests`).
    alpha : float
        The significance level.
    info : JpegInfo
        The traced file: the rivals' outputs of the calibration photos are compressed with its quantisation
        tables and chroma subsampling before they are compared with it.
    entries : list
        Every candidate's zoo entry (the rivals are all but the one tested).
    load : callable
        Loads a zoo entry's model: each rival is run on the calibration photos.
    settings : TraceSettings
        The calibration photos, the crop rule and the cell search's settings.

    Returns
    -------
    None
        Those rows gain ``p_rival`` (None without rivals), ``rival_min``, ``rival_median`` and ``rivals``. The
        rivals are every other candidate of the trace, inverted or not, so a row's test does not depend on
        which candidates a top-K path inverted.
    """
    from .trace_calibration import null_test

    won = decide_jpeg(rows, alpha, rivals=False)
    tested = [r for r in rows if r["id"] == won.get("model")]
    passing = _passing(rows, alpha)
    if len(passing) > 1:  # each one that passes: its own rival test may set the others aside (decide_jpeg)
        tested += [r for r in passing if r not in tested]
    by_id = {e.id: e for e in entries}
    for row in tested:
        if "p_rival" in row or row["id"] not in by_id:
            continue
        side = row["crop"][2]
        # every other candidate of the trace, inverted or not: the test is the same on the top-K path
        others = [e for e in entries if e.id != row["id"] and (2 * side) % max(e.scale, 1) == 0]
        if not others:
            row["p_rival"] = None
            continue
        e = by_id[row["id"]]
        tail = null_test(row["ratio"], jpeg_calibration(e, load(e), info, side, settings,
                                                         rivals=[(d, load(d)) for d in others]))
        row.update({"p_rival": tail["p_value"], "rival_min": tail["null_min"], "rival_median": tail["null_median"],
                    "rivals": [d.id for d in others]})


def decide_jpeg(rows: list[dict[str, Any]], alpha: float, *, rivals: bool = True) -> dict[str, Any]:
    """The verdict from JPEG rows (the rules of the module docstring).

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`jpeg_rows`, with ``p_own`` (:func:`own_tests`) and ``p_rival`` (:func:`rival_tests`).
    alpha : float
        The significance level.
    rivals : bool
        Apply the rival rule (a row to be named without ``p_rival`` is not named); False: the candidate the
        other rules would name.

    Returns
    -------
    dict
        ``verdict``, ``model``, ``p_value``, ``margin``, ``explanation`` (and ``closest``, ``ambiguous``).
    """
    ok = [r for r in rows if math.isfinite(r["ratio"])]
    if not ok:
        flat = [r for r in rows if r.get("uninformative")]
        if flat:
            return {"verdict": "none of these models", "model": None, "p_value": None, "uninformative": True,
                    "explanation": f"not enough information: in the traced window bicubic upscaling leaves only "
                                   f"{max(r['bicubic_violations'] for r in flat)} of {flat[0]['n']} DCT coefficients "
                                   f"outside the file's cells (fewer than {MIN_INFORMATIVE}); every model fits so "
                                   "smooth a window, so no candidate can be told from another"}
        return {"verdict": "none of these models", "model": None, "p_value": None,
                "explanation": "no candidate could be inverted through the JPEG"}
    ok.sort(key=lambda r: (r["p_value"], r["ratio"]))
    best = ok[0]
    margin = ok[1]["ratio"] / best["ratio"] if len(ok) > 1 and best["ratio"] > 0 else None

    def cells(r: dict[str, Any]) -> str:
        return (f"{r['violations']} of {r['n']} DCT coefficients outside the file's quantisation cells (bicubic "
                f"upscaling through the same cells: {r['bicubic_violations']})")

    def named(won: dict[str, Any], also: str = "") -> dict[str, Any]:
        if rivals and "p_rival" not in won:
            return {"verdict": "none of these models", "model": None, "p_value": won["p_value"], "margin": margin,
                    "closest": won["id"], "explanation": f"{won['id']} passes the photo calibration, but its "
                    "rival test (other candidates' outputs) was not run: not named"}
        if rivals and won["p_rival"] is not None and not (won["p_rival"] < alpha and won["ratio"] < won["rival_min"]):
            return {"verdict": "none of these models", "model": None, "p_value": won["p_value"], "margin": margin,
                    "closest": won["id"], "p_rival": won["p_rival"],
                    "explanation": f"{won['id']} leaves {cells(won)}, closer than photos come (p = "
                                   f"{won['p_value']:.2g}), but no closer than it comes to other candidates' outputs "
                                   f"compressed the same way (p = {won['p_rival']:.2g}): the JPEG cannot tell "
                                   "whether it or a model like them made the image"}
        if rivals and won["p_rival"] is not None:
            also = (f"; it comes closer than to any of {', '.join(won.get('rivals', [])[:3])}'s outputs "
                    f"compressed the same way (p = {won['p_rival']:.2g})") + also
        return {"verdict": "made by", "model": won["id"], "p_value": won["p_value"], "margin": margin,
                "explanation": f"{won['id']} re-encoded with the file's own tables leaves {cells(won)}: 1 in "
                               f"{1 / max(won['p_value'], 1e-300):.2g} chance that a model that did not make it "
                               f"comes this close{also}"}

    passing = _passing(ok, alpha)
    confirmed = [r for r in passing if _rival_passed(r, alpha)] if rivals else []
    if len(passing) > 1 and len(confirmed) == 1 and confirmed[0].get("p_own", 1.0) >= OWN_ALPHA:
        # the rival rule sets the others aside: the one confirmed fits this file closer than it fits the other
        # candidates' outputs (theirs included), and each other one fits other candidates' outputs as closely
        # as this file. The same rows name it on the top-K path, where the others were never inverted
        won = confirmed[0]
        aside = "; ".join(f"{r['id']} ({r['violations']} outside) also comes closer than photos do, but as close to "
                          f"other candidates' outputs (p = {r['p_rival']:.2g})"
                          for r in passing if r is not won and r.get("p_rival") is not None)
        return named(won, f"; {aside}" if aside else "")
    if len(passing) > 1:
        # the sibling rule: the others are ruled out by their own calibrations (p_own < OWN_ALPHA)
        left = [r for r in passing if r.get("p_own", 1.0) >= OWN_ALPHA]
        out = [r for r in passing if r not in left]
        if len(left) == 1 and all("p_own" in r for r in out):
            gone = "; ".join(f"{r['id']} leaves {r['violations']}, more than its own outputs do (p = "
                             f"{r['p_own']:.2g})" for r in out[:3])
            return named(left[0], f"; {gone}")
        names = ", ".join(f"{r['id']} ({r['violations']})" for r in (left or passing)[:4])
        if not left:
            return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
                    "closest": best["id"], "ambiguous": [r["id"] for r in passing],
                    "explanation": f"{len(passing)} candidates fit the file's quantisation cells better than photos "
                                   f"do ({names}), but each worse than its own outputs do: none of them made it"}
        return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
                "closest": best["id"], "ambiguous": [r["id"] for r in left],
                "explanation": f"{len(left)} candidates land in the file's quantisation cells as well as a model "
                               f"that made it would: {names}; the JPEG cannot tell them apart"}
    if passing:
        return named(passing[0])
    # ranked by p-value: statistics of candidates with other references (scale, task) are not comparable, so the
    # smallest p may belong to a larger statistic with a tighter calibration; the line then names both
    low = min(ok, key=lambda r: r["ratio"])
    also = (f"; the smallest statistic is {low['id']}'s ({low['violations']} outside, s = {low['ratio']:.2g}, "
            f"p = {low['p_value']:.2g})" if low is not best else "")
    return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
            "closest": best["id"],
            "explanation": f"the candidate least like its calibration, {best['id']}, leaves {cells(best)} (s = "
                           f"{best['ratio']:.2g}, p = {best['p_value']:.2g} against its calibration at these tables)"
                           f"{also}: no candidate made this image"}
