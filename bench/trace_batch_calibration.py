"""Batched calibration inversions (issue 27): one-at-a-time against batched, same results, seconds each.

For each chosen zoo model, the pixel path's calibration (``n_calibration`` photo crops, each inverted by the
model and by the bicubic reference: :func:`~srprint.attribution.trace.calibration_ratios`) and the JPEG
path's photo null (``n_jpeg_calibration`` crops re-encoded with a q 90 file's tables, each searched by the
model and the reference: :func:`~srprint.attribution.jpeg_decide.jpeg_calibration`) are computed both ways,
the old loop (:func:`~.inversion.invert_model` / :func:`~.jpeg_trace.jpeg_invert` one crop after another)
and the batched one (:func:`~.inversion_batch.invert_batch` / :func:`~.jpeg_batch.jpeg_invert_batch`), in
alternating order over ``--reps`` rounds (A B, then B A, ...) so that load from other processes falls on
both alike. Per crop it compares residuals, steps, violations and the statistic; it writes
``bench/results/trace_batch_calibration.{json,md}``. Default trace settings; no cache is read or written.

    OMP_NUM_THREADS=1 LD_PRELOAD=libtcmalloc_minimal.so.4 python bench/trace_batch_calibration.py \
        --zoo $SRPRINT_HOME/zoos/demo --models EDSR-skimage-x2-L1-s1,RDN-skimage-x4-VGG+Adv-s1
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _common import write_results  # noqa: E402


def _rel(a: list[float], b: list[float]) -> float:
    return max((abs(x - y) / max(abs(x), 1e-30) for x, y in zip(a, b, strict=True)
                if math.isfinite(x) or math.isfinite(y)), default=0.0)


def pixel_case(entry: Any, model: Any, settings: Any, chunk: int) -> dict[str, Any]:
    """Both ways of the pixel calibration: per-way callables returning per-crop (model, reference) results."""
    from srprint.attribution.inversion import ReferenceModel, invert_model
    from srprint.attribution.inversion_batch import invert_batch
    from srprint.attribution.trace_calibration import calibration_photos

    scale = max(entry.scale, 1)
    photos = calibration_photos(settings.n_calibration, settings.crop - settings.crop % scale)
    kw = {"steps": settings.steps, "lr": settings.lr, "border": settings.border}
    ref = ReferenceModel(scale)

    def old() -> tuple[list[Any], list[Any]]:
        return [invert_model(model, p, **kw) for p in photos], [invert_model(ref, p, **kw) for p in photos]

    def new() -> tuple[list[Any], list[Any]]:
        return invert_batch(model, photos, chunk=chunk, **kw), invert_batch(ref, photos, chunk=chunk, **kw)

    def compare(a: tuple[list[Any], list[Any]], b: tuple[list[Any], list[Any]]) -> dict[str, Any]:
        ra = [m.residual / max(r.residual, 1e-30) for m, r in zip(*a, strict=True)]
        rb = [m.residual / max(r.residual, 1e-30) for m, r in zip(*b, strict=True)]
        return {"crops": len(photos), "ratios_identical": ra == rb, "ratio_max_rel_diff": _rel(ra, rb),
                "model_residual_max_rel_diff": _rel([m.residual for m in a[0]], [m.residual for m in b[0]]),
                "reference_residual_max_rel_diff": _rel([m.residual for m in a[1]], [m.residual for m in b[1]]),
                "steps_equal": [m.steps for m in a[0] + a[1]] == [m.steps for m in b[0] + b[1]]}

    return {"old": old, "new": new, "compare": compare}


def jpeg_case(entry: Any, model: Any, settings: Any, chunk: int) -> dict[str, Any]:
    """Both ways of the JPEG photo null (tables of a q 90 JPEG of a 512-px photo)."""
    from PIL import Image

    from srprint.attribution import jpeg_decide as jd
    from srprint.attribution.jpeg_batch import jpeg_invert_batch
    from srprint.attribution.jpeg_file import read_jpeg
    from srprint.attribution.jpeg_trace import aligned_jpeg_crop, jpeg_invert
    from srprint.io.images import skimage_photos

    scale = max(entry.scale, 1)
    buf = io.BytesIO()
    Image.fromarray((skimage_photos()["astronaut"] * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=90)
    info = read_jpeg(buf.getvalue())
    dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255
    side = aligned_jpeg_crop(info, dec, scale, settings.jpeg_window(scale)).size
    crops = jd.calibration_crops(entry, model, info, side, settings)
    kw = {"start_steps": settings.jpeg_start_steps, "steps": settings.jpeg_steps, "lr": settings.jpeg_lr,
          "start_lr": settings.lr, "border": settings.jpeg_border}
    ref = jd._reference(model, scale)

    def old() -> tuple[list[Any], list[Any]]:
        return [jpeg_invert(model, c, **kw) for c in crops], [jpeg_invert(ref, c, **kw) for c in crops]

    def new() -> tuple[list[Any], list[Any]]:
        return jpeg_invert_batch(model, crops, chunk=chunk, **kw), jpeg_invert_batch(ref, crops, chunk=chunk, **kw)

    def compare(a: tuple[list[Any], list[Any]], b: tuple[list[Any], list[Any]]) -> dict[str, Any]:
        sa = [jd._statistic(m.test, r.test) for m, r in zip(*a, strict=True)]
        sb = [jd._statistic(m.test, r.test) for m, r in zip(*b, strict=True)]
        va = [m.test["violations"] for m in a[0] + a[1]]
        vb = [m.test["violations"] for m in b[0] + b[1]]
        return {"crops": len(crops), "side": side, "statistics_identical": sa == sb,
                "statistic_max_rel_diff": _rel(sa, sb), "violations_identical": va == vb,
                "violations_max_abs_diff": max(abs(x - y) for x, y in zip(va, vb, strict=True)),
                "violations_old": va, "start_residual_max_rel_diff": _rel(
                    [m.start_residual for m in a[0] + a[1]], [m.start_residual for m in b[0] + b[1]]),
                "steps_equal": [m.steps for m in a[0] + a[1]] == [m.steps for m in b[0] + b[1]]}

    return {"old": old, "new": new, "compare": compare}


def run_case(case: dict[str, Any], reps: int) -> dict[str, Any]:
    """Time old and new ``reps`` times each, alternating their order; compare the first results."""
    secs: dict[str, list[float]] = {"old": [], "new": []}
    first: dict[str, Any] = {}
    for r in range(reps):
        for way in ("old", "new") if r % 2 == 0 else ("new", "old"):
            t0 = time.perf_counter()
            out = case[way]()
            secs[way].append(round(time.perf_counter() - t0, 2))
            first.setdefault(way, out)
    med = {k: statistics.median(v) for k, v in secs.items()}
    return {"seconds_old": secs["old"], "seconds_new": secs["new"],
            "speedup_median": round(med["old"] / max(med["new"], 1e-9), 2),
            **case["compare"](first["old"], first["new"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, required=True, help="zoo folder of the models")
    ap.add_argument("--models", default="EDSR-skimage-x2-L1-s1,RDN-skimage-x4-VGG+Adv-s1", help="comma-separated ids")
    ap.add_argument("--paths", default="pixel,jpeg", help="pixel, jpeg or both")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=16)
    args = ap.parse_args()
    if args.reps < 1 or args.chunk < 1:
        ap.error("--reps and --chunk must be >= 1")
    from srprint.attribution.trace import TraceSettings
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import ZooEntry

    settings = TraceSettings()
    rows = []
    for mid in [m.strip() for m in args.models.split(",") if m.strip()]:
        entry = ZooEntry.load(args.zoo / mid)
        model = load_entry_model(entry)
        for path in [p.strip() for p in args.paths.split(",") if p.strip()]:
            case = (pixel_case if path == "pixel" else jpeg_case)(entry, model, settings, args.chunk)
            row = {"model": mid, "path": path, **run_case(case, args.reps)}
            print(row, flush=True)
            rows.append(row)
    data = {"settings": {"trace": asdict(settings),
                         "chunk": args.chunk, "reps": args.reps, "torch_threads": torch.get_num_threads()},
            "rows": rows}
    md = ["# Batched calibration inversions (issue 27): one-at-a-time vs batched", "",
          f"Default trace settings, chunk {args.chunk}, {args.reps} alternating rounds (A B, B A, ...), "
          f"{torch.get_num_threads()} torch thread(s). Seconds per calibration (model + bicubic reference); "
          "`same` = every per-crop statistic identical.", "",
          "| model | path | crops | old s | batched s | speedup (median) | same | max rel diff | steps equal |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        same = r.get("ratios_identical", r.get("statistics_identical"))
        diff = r.get("ratio_max_rel_diff", r.get("statistic_max_rel_diff"))
        md.append(f"| {r['model']} | {r['path']} | {r['crops']} | {', '.join(map(str, r['seconds_old']))} | "
                  f"{', '.join(map(str, r['seconds_new']))} | {r['speedup_median']}x | {same} | {diff:.2g} | "
                  f"{r['steps_equal']} |")
    print(*write_results("trace_batch_calibration", data, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
