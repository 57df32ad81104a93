"""Trace an image to the exact model that made it: invert every candidate, calibrate, decide.

For each candidate model (every zoo entry whose task and scale fit the image, or a shortlist),
:func:`~.inversion.invert_model` gives the residual it reaches on a crop of the image (the window where the
reference starts worst: :mod:`.trace_window`). The
statistic is that residual divided by the residual of a structure-free reference
(:class:`~.inversion.ReferenceModel`: bicubic upscaling at the candidate's scale) on the same crop:
smooth crops are easy to reproduce for every model, and the ratio cancels that (on 16 photo crops
the raw residual of one demo model spread over two orders of magnitude, the ratio over 0.96-1.44).
The decision is calibrated per candidate, on data no traced image belongs to: the ratios the
candidate reaches on crops of real photographs (which no model made; :func:`calibration_photos`):
scikit-image's bundled photos and the shared Set5, never a photo set the benchmark scores
(:data:`SCORED_SETS`). Under the null "this candidate did not make the image", the log ratio is
treated as a Gaussian sample of unknown mean and variance, so the traced image's log ratio has a
Student t predictive distribution; its lower tail is the p-value. The verdict is
*made by C* when ``C`` has the smallest p-value, it is below ``alpha`` and its ratio is below every
calibration ratio; otherwise *none of these models*. Calibrations are cached
under ``$SRPRINT_HOME/trace/calibration`` by (weights sha256, settings).

A JPEG file takes the JPEG path (:mod:`.jpeg_decide`): the same rule on the exact requantisation
test. With ``propose`` (the classifier's top K), those candidates are inverted first; when none of
them is confirmed, the others are inverted too, so a weak proposer costs time, never a wrong answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import config_hash, srprint_home
from ..errors import SrprintError
from .inversion import BORDER, INVERSION_LR, INVERSION_STEPS, QUANT_FLOOR, ReferenceModel, invert_model
from .inversion_batch import invert_batch
from .jpeg_trace import JPEG_CONTEXT, JPEG_CROP, JPEG_CROP_X2
from .trace_calibration import CALIBRATION_PHOTOS as CALIBRATION_PHOTOS  # re-exported: the names trace had
from .trace_calibration import CALIBRATION_SETS as CALIBRATION_SETS
from .trace_calibration import SCORED_SETS as SCORED_SETS
from .trace_calibration import calibration_photos, null_test, read_cached_list, reference_results, write_cache
from .trace_calibration import calibration_sources as calibration_sources
from .trace_window import WINDOWS, pixel_window, region_side, textured_crops
from .trace_window import centre_crop as centre_crop  # re-exported: where it lived

ALPHA = 1e-3
N_CALIBRATION = 32
N_JPEG_CALIBRATION = 32  # photo crops (issue 27: >= 32 from >= 8 photos; 8 before JPEG method 9)
CROP = 48  # output pixels of the window that is inverted (a multiple of every scale up to 4 but 5, 7)
RESIZED = "no candidate's scale grid fits; the image may have been resized"
MIN_INPUT_SIDE = 12  # input pixels a pixel-path window spans at least (TraceSettings.pixel_crop)
NEAR_FLOOR = 2.0  # under twice the 8-bit floor a candidate reproduces the image: unnamed, the image says too little


@dataclass(frozen=True)
class TraceSettings:
    """Everything besides the model that a residual depends on (calibrations are keyed by it)."""

    crop: int = CROP
    steps: int = INVERSION_STEPS
    lr: float = INVERSION_LR
    border: int = BORDER
    n_calibration: int = N_CALIBRATION
    coarse_steps: int = 0  # > 0: rank every candidate after this many steps, refine only the best ``keep``
    keep: int = 5
    jpeg_crop: int = JPEG_CROP  # the JPEG path's crop (rounded up to a multiple of lcm(MCU, scale))
    jpeg_crop_x2: int = JPEG_CROP_X2  # the JPEG path's crop for a x2 candidate (jpeg_trace.JPEG_CROP_X2)
    jpeg_start_steps: int = 60  # plain inversion of the decoded pixels: the start of the cell search
    jpeg_steps: int = 150  # Adam steps on the cell hinge
    jpeg_lr: float = 4e-3  # the hinge's first step size (cosine decay over ``jpeg_steps``)
    jpeg_border: int = 8  # output pixels at the crop's edge whose blocks are not compared
    n_jpeg_calibration: int = N_JPEG_CALIBRATION
    jpeg_context: int = JPEG_CONTEXT  # input pixels searched around the JPEG crop (jpeg_trace.JPEG_CONTEXT)
    window: str = "textured"  # the pixel path's crop (trace_window.pixel_window): "centre" was the rule before
    # the pixel path names a model at p < alpha * pixel_level. The photo null's p-values are too small for images
    # another model made (dev: BSDS500 test photos 12-27, trace_window_pixel_dev.md: a wrong model at 9.3e-4 with
    # its maker left out, the true models at most 2.5e-7 in the textured window); 1 was the centre rule's level
    pixel_level: float = 1e-2

    def __post_init__(self) -> None:
        if (self.crop <= 2 * self.border + 4 or self.steps < 1 or not 0 < self.lr < 1 or self.n_calibration < 3
                or not 0 <= self.coarse_steps < self.steps or self.keep < 1 or self.jpeg_crop < 16
                or self.jpeg_crop_x2 < 16
                or self.jpeg_start_steps < 1 or self.jpeg_steps < 0 or self.n_jpeg_calibration < 3
                or not 0 < self.jpeg_lr < 1 or not 0 <= self.jpeg_context <= 64
                or not 0 <= self.jpeg_border < min(self.jpeg_crop, self.jpeg_crop_x2) // 2
                or self.window not in WINDOWS or not 0 < self.pixel_level <= 1):
            raise SrprintError(f"bad trace settings {asdict(self)}")

    def key(self) -> str:  # what a calibration depends on: not the candidate pruning
        d = asdict(self)
        d.pop("coarse_steps")
        d.pop("keep")
        # the JPEG calibration's key names these (the pixel path's keys stay as they were)
        d.pop("jpeg_lr")
        d.pop("jpeg_context")
        d.pop("jpeg_crop_x2")  # named by the x2 JPEG calibrations' key only: the others' keys stay
        d.pop("window")  # named by the pixel calibrations' key (pixel_key): the JPEG path's keys stay
        d.pop("pixel_level")  # the decision's level, not the calibration's
        d.pop("n_jpeg_calibration")  # named by the JPEG calibrations' keys (jpeg_decide): the pixel path's do not
        return config_hash(d)

    def pixel_key(self, region: int, scale: int = 1) -> dict[str, Any]:
        """What a pixel-path calibration depends on: :meth:`key`, the window rule with its region side when it
        is not the centre (so the centre rule's caches keep their keys), and the scale's window and border
        when :meth:`pixel_crop` or :meth:`pixel_border` raise them (x8; the other scales' keys stay)."""
        wide = (self.pixel_crop(scale), self.pixel_border(scale)) != (self.crop, self.border)
        return {"settings": self.key()} | ({} if self.window == "centre" else {"window": self.window,
                                                                               "region": int(region)}) | (
            # whole_crops: a x8 window's 192-px regions held one crop cut short at a photo's edge until the crops
            # were moved inside (trace_calibration.calibration_photos, session 37): those calibrations are new
            {"scale_window": [self.pixel_crop(scale), self.pixel_border(scale)], "whole_crops": 1} if wide else {})

    def pixel_crop(self, scale: int) -> int:
        """The pixel path's window side for a candidate of ``scale``: ``crop``, or :data:`MIN_INPUT_SIDE` input
        pixels when that is more (x8: 96). In 6 x 6 input pixels (48 px at x8) every output pixel depends on input
        the window does not hold: LapSRN and SRGAN x8 stayed at 106x and 138x the 8-bit floor on their own 48-px
        outputs, at 1.05x on the whole 96-px output (one BSDS500 test photo, dev)."""
        return max(self.crop, MIN_INPUT_SIDE * max(int(scale), 1))

    def pixel_border(self, scale: int) -> int:
        """Output pixels left out at the window's edge for a candidate of ``scale``: ``border``, at least one input
        pixel's worth (x8: 8)."""
        return max(self.border, max(int(scale), 1))

    def jpeg_window(self, scale: int) -> int:
        """The JPEG path's wanted window side for a candidate of ``scale`` (:data:`~.jpeg_trace.JPEG_CROP_X2`
        for x2, else ``jpeg_crop``)."""
        return self.jpeg_crop_x2 if scale == 2 else self.jpeg_crop


def fits(entry: Any, shape: tuple[int, ...]) -> bool:
    """Whether an image of ``shape`` can be the output of ``entry`` (SR: a multiple of its scale)."""
    h, w = shape[:2]
    return entry.task == "sr" and h % entry.scale == 0 and w % entry.scale == 0 or entry.task != "sr"


def candidates(entries: Iterable[Any], shape: tuple[int, ...], *, models: str | None = None,
               restrict: set[str] | None = None) -> list[Any]:
    """Zoo entries that could have made an image of ``shape``: not an attacked copy, of a task that
    restores images (sr, denoise), fitting its size; optionally only ids containing ``models`` (comma
    separated substrings) or in ``restrict``."""
    pats = [p.strip() for p in models.split(",") if p.strip()] if models else []
    out = []
    for e in entries:
        if e.task not in ("sr", "denoise") or (restrict is not None and e.id not in restrict):
            continue
        if pats and not any(p in e.id for p in pats):
            continue
        if fits(e, shape):
            out.append(e)
    return sorted(out, key=lambda e: e.id)


def reference_residual(img: np.ndarray, scale: int, settings: TraceSettings) -> float:
    """Residual of the structure-free reference at ``scale`` on ``img`` (the ratio's denominator)."""
    return invert_model(ReferenceModel(scale), img, steps=settings.steps, lr=settings.lr,
                        border=settings.pixel_border(scale)).residual


def calibration_ratios(entry: Any, model: Any, settings: TraceSettings, *, use_cache: bool = True,
                       region: int | None = None) -> list[float]:
    """Residual ratios ``entry`` reaches on the calibration photos (cached by weights sha256 and settings).

    ``region``: the side of the region the ``textured`` window rule searched in the traced image
    (:func:`~.trace_window.region_side`; default ``2 * crop``): the calibration crops are chosen in regions
    of that side.
    """
    from ..io.checkpoints import sha256_file

    # "batch": the crops are inverted together (inversion_batch), whose ratios differ from the one-at-a-time
    # runs' in the last bits (bench/results/trace_batch_calibration.md): no cached ratio of those is mixed in
    scale = max(entry.scale, 1)
    size = settings.pixel_crop(scale) - settings.pixel_crop(scale) % scale
    region = 2 * size if region is None else int(region)
    key = config_hash({"sha": sha256_file(entry.weights_path), **settings.pixel_key(region, scale), "batch": 1})
    path = srprint_home() / "trace" / "calibration" / f"{key}.json"
    if use_cache and (vals := read_cached_list(path, "ratios", settings.n_calibration, item=float)) is not None:
        return vals
    if settings.window == "centre":
        photos = calibration_photos(settings.n_calibration, size)
    else:  # the trace's rule on regions of the side it searches (trace_window.pixel_window)
        photos = textured_crops(calibration_photos(settings.n_calibration, region), size, scale)
    # the crops are inverted together (inversion_batch: each image's own run, up to batched kernels' last bits)
    kw = {"steps": settings.steps, "lr": settings.lr, "border": settings.pixel_border(scale)}
    res = invert_batch(model, photos, **kw)
    ref = reference_results({"pixel": scale, "size": size, **settings.pixel_key(region, scale), "batch": 1},
                            lambda: [q.residual for q in invert_batch(ReferenceModel(scale), photos, **kw)],
                            n=len(photos), use_cache=use_cache)
    vals = [r.residual / max(q, 1e-30) for r, q in zip(res, ref, strict=True)]
    finite = [v for v in vals if math.isfinite(v)]
    write_cache(path, {"model": entry.id, "settings": asdict(settings), "ratios": finite})
    return finite


def decide(rows: list[dict[str, Any]], alpha: float = ALPHA, *, level: float = 1.0) -> dict[str, Any]:
    """The verdict from per-candidate rows (``id``, ``residual``, ``ratio``, ``p_value``, ``null_min``).

    A candidate is named when its p-value is below ``alpha * level`` (:attr:`TraceSettings.pixel_level`: the
    photo null's p-values are too small for images another model made, so the window rule's level is set
    apart from ``alpha`` on a dev corpus).
    """
    ok = [r for r in rows if math.isfinite(r["residual"])]
    if not ok:
        return {"verdict": "none of these models", "model": None, "p_value": None,
                "explanation": "no candidate could be inverted"}
    # ranked by calibrated p-value, not by raw ratio: ratios are not comparable across candidates (a
    # denoiser reproduces almost any image of its size, photos included, so its ratio is always small)
    ok.sort(key=lambda r: (r["p_value"], r["ratio"]))
    best = ok[0]
    margin = ok[1]["ratio"] / best["ratio"] if len(ok) > 1 and best["ratio"] > 0 else None
    ratio = best["residual"] / QUANT_FLOOR
    if best["p_value"] < alpha * level and best["ratio"] < best["null_min"]:
        n = 1 / max(best["p_value"], 1e-300)
        return {"verdict": "made by", "model": best["id"], "p_value": best["p_value"], "margin": margin,
                "explanation": f"{best['id']} reproduces the image at {ratio:.2g}x the 8-bit quantisation floor: "
                               f"1 in {n:.2g} chance that a model that did not make it comes this close"}
    if ratio < NEAR_FLOOR:  # it reproduces the image, but the window does not single it out
        return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
                "closest": best["id"], "uninformative": True,
                "explanation": f"the closest candidate, {best['id']}, reproduces the image at {ratio:.2g}x the "
                               f"8-bit floor, but plain bicubic upscaling comes within {1 / best['ratio']:.2g}x of "
                               f"that, not far enough beyond photos no model made (p = {best['p_value']:.2g}, level "
                               f"{alpha * level:.2g}): the image holds too little detail to single out its model, "
                               "or a model not among the candidates made it"}
    return {"verdict": "none of these models", "model": None, "p_value": best["p_value"], "margin": margin,
            "closest": best["id"],
            "explanation": f"the closest candidate, {best['id']}, stays at {ratio:.2g}x the quantisation floor "
                           f"(p = {best['p_value']:.2g} against its calibration, level {alpha * level:.2g}): no "
                           "candidate made this image"}


def _pixel_rows(img: np.ndarray, entries: list[Any], load: Callable[[Any], Any], settings: TraceSettings,
                progress: Callable[[str], None] | None) -> tuple[list[dict], list[dict], dict[str, float]]:
    rows, skipped = [], []
    reference: dict[int, float] = {}
    coarse: dict[str, float] = {}
    windows: dict[int, np.ndarray] = {}

    def window(scale: int) -> np.ndarray:  # one window per scale, shared by its candidates and both passes
        if scale not in windows:
            windows[scale] = pixel_window(img, settings.pixel_crop(scale), scale, settings.window)
        return windows[scale]

    if settings.coarse_steps and len(entries) > settings.keep:
        for e in entries:
            scale = max(e.scale, 1)
            crop = window(scale)
            if scale not in reference:
                reference[scale] = reference_residual(crop, scale, settings)
            res = invert_model(load(e), crop, steps=settings.coarse_steps, lr=settings.lr,
                               border=settings.pixel_border(scale))
            coarse[e.id] = res.residual / max(reference[scale], 1e-30) if res.finite else math.inf
        entries = sorted(entries, key=lambda e: coarse[e.id])[: settings.keep]
    for e in entries:
        t0 = time.perf_counter()
        if progress:
            progress(e.id)
        model = load(e)
        scale = max(e.scale, 1)
        crop = window(scale)
        res = invert_model(model, crop, steps=settings.steps, lr=settings.lr, border=settings.pixel_border(scale))
        if not res.finite:
            skipped.append({"id": e.id, "reason": "inversion produced non-finite values"})
            continue
        if scale not in reference:
            reference[scale] = reference_residual(crop, scale, settings)
        ratio = res.residual / max(reference[scale], 1e-30)
        null = calibration_ratios(e, model, settings, region=region_side(img.shape, settings.pixel_crop(scale), scale))
        rows.append({"id": e.id, "residual": res.residual, "floor_ratio": res.residual / QUANT_FLOOR,
                     "ratio": ratio, "reference_residual": reference[scale], "steps": res.steps,
                     **null_test(ratio, null), "seconds": round(time.perf_counter() - t0, 2)})
    return rows, skipped, coarse


def trace_image(img: np.ndarray, entries: list[Any], load: Callable[[Any], Any], *,
                settings: TraceSettings | None = None, alpha: float = ALPHA,
                progress: Callable[[str], None] | None = None, jpeg: Any = None,
                propose: Iterable[str] | None = None, source: str | None = None) -> dict[str, Any]:
    """Trace one image (``(H, W, 3)`` in ``[0, 1]``) among ``entries`` (already filtered by :func:`candidates`).

    Parameters
    ----------
    img : ndarray
        The image (for a JPEG: its decoded pixels).
    entries : list
        Candidate zoo entries.
    load : callable
        Entry -> loaded model (on the device the caller chose).
    settings, alpha
        Trace settings and the significance level of *made by*.
    progress : callable, optional
        Called with each candidate's id.
    jpeg : JpegInfo, optional
        The file's structure when ``img`` is a JPEG: the JPEG path (:mod:`.jpeg_decide`) decides.
    propose : iterable of str, optional
        Candidate ids to invert first (a classifier's top K); the rest are inverted only when none of
        these is confirmed.
    source : str, optional
        How the image was read (reported as ``path``), e.g. a PNG that shows JPEG blocking.

    Returns
    -------
    dict
        ``verdict``, ``model``, ``p_value``, ``explanation``, ``candidates`` rows, ``skipped``, ``path``
        (which route decided), ``inverted`` (how many candidates were inverted).

    Raises
    ------
    SrprintError
        No candidate.
    """
    settings = settings or TraceSettings()
    if not entries:
        raise SrprintError("no candidate model fits this image")

    def run(group: list[Any]) -> tuple[list[dict], list[dict], dict[str, float]]:
        if jpeg is not None:
            from .jpeg_decide import jpeg_rows

            rows, skipped = jpeg_rows(img, jpeg, group, load, settings=settings, progress=progress)
            return rows, skipped, {}
        return _pixel_rows(img, group, load, settings, progress)

    def verdict(rows: list[dict]) -> dict[str, Any]:
        if jpeg is not None:
            from .jpeg_decide import decide_jpeg, own_tests, rival_tests

            own_tests(rows, alpha, jpeg, entries, load, settings=settings)  # the sibling rule, when two pass
            rival_tests(rows, alpha, jpeg, entries, load, settings=settings)  # the rival rule, for the one named
            return decide_jpeg(rows, alpha)
        return decide(rows, alpha, level=settings.pixel_level)

    path = source or ("jpeg (requantisation test)" if jpeg is not None else "pixels (8-bit floor)")
    first = [e for e in entries if propose is not None and e.id in set(propose)]
    rest = [e for e in entries if e not in first]
    if first:
        rows, skipped, coarse = run(first)
        out = verdict(rows)
        route = f"top {len(first)} proposed, confirmed"
        if out["verdict"] != "made by" and rest:
            more = run(rest)
            rows, skipped, coarse = rows + more[0], skipped + more[1], {**coarse, **more[2]}
            out = verdict(rows)
            route = f"top {len(first)} proposed, none confirmed: all {len(entries)} inverted"
    else:
        rows, skipped, coarse = run(entries)
        out = verdict(rows)
        route = f"all {len(entries)} inverted"
    if out["verdict"] != "made by" and jpeg is None and not any(r["floor_ratio"] < 10 for r in rows):
        out["explanation"] += (" (none comes near the 8-bit floor: the image is no candidate's output as saved; "
                               f"a model's output resized or recompressed since also looks so: {RESIZED}, or "
                               "recompressed)")
    return {**out, "candidates": sorted(rows, key=lambda r: (r["p_value"], r["ratio"])), "skipped": skipped,
            "coarse": coarse,
            "path_taken": f"{path}; {route}", "inverted": len(rows) + len(skipped),
            "settings": asdict(settings), "alpha": alpha}


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Folder verdict, assuming one source: the model named by most images (ties: none)."""
    named = [r.get("model") for r in results if r.get("verdict") == "made by"]
    if not named:
        return {"verdict": "none of these models", "model": None, "n": len(results), "agree": 0}
    best = max(set(named), key=named.count)
    agree = named.count(best)
    if agree * 2 <= len(results):
        return {"verdict": "none of these models", "model": None, "n": len(results), "agree": agree}
    return {"verdict": "made by", "model": best, "n": len(results), "agree": agree}


def read_for_trace(path: Path) -> np.ndarray:
    """Read an image as RGB float in ``[0, 1]`` (grey and 16-bit converted with a warning, as elsewhere)."""
    from ..io.images import read_image

    return read_image(path)[..., :3]
