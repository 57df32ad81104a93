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

``--against REV`` makes the first way the *batched* code as committed at git revision ``REV`` (its
``inversion_batch.py`` and ``jpeg_batch.py``, loaded into this process beside the working tree's), to measure
a change of the batching itself. The shrinking batch (a crop that stopped leaves the forward pass too:
``bench/results/trace_batch_calibration_shrink.patch``, applied with ``git apply`` before the run) was
measured so against the full batch of 2aa3bf6, into ``trace_batch_calibration_shrink.{json,md}``: at the
default settings on the demo zoo hardly a search stops before its last step (1 of 128 pixel searches, a
bicubic reference one; none of 64 JPEG hinge searches, even on the model's own outputs), so it saved no
forward pass of a model and no time (0.92x-1.08x, noise), and it was not adopted. The ``jpeg-own`` path
searches the model's own outputs of the crops (``jpeg_calibration(own=True)``, the sibling rule's
calibration), the likeliest to reach zero violations early. Each timing comes with the 1-minute load
average before it (other processes on the machine).

    OMP_NUM_THREADS=1 LD_PRELOAD=libtcmalloc_minimal.so.4 python bench/trace_batch_calibration.py \
        --zoo $SRPRINT_HOME/zoos/demo --models EDSR-skimage-x2-L1-s1,RDN-skimage-x4-VGG+Adv-s1
    ... python bench/trace_batch_calibration.py --zoo ... --against 2aa3bf6 --paths pixel,jpeg,jpeg-own
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import math
import os
import statistics
import subprocess
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


def revision_batch(rev: str) -> tuple[Any, Any]:
    """``invert_batch`` and ``jpeg_invert_batch`` as committed at git revision ``rev`` (``jpeg_batch`` on that
    revision's ``inversion_batch``), loaded as ``srprint.attribution._rev_*`` modules beside the working tree's."""
    root = Path(__file__).resolve().parent.parent
    funcs = []
    for name, func in (("inversion_batch", "invert_batch"), ("jpeg_batch", "jpeg_invert_batch")):
        text = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/srprint/attribution/{name}.py"],
                              capture_output=True, text=True, check=True).stdout
        text = text.replace("from .inversion_batch import", "from ._rev_inversion_batch import")
        modname = f"srprint.attribution._rev_{name}"
        spec = importlib.util.spec_from_loader(modname, loader=None)
        assert spec is not None
        mod = importlib.util.module_from_spec(spec)
        mod.__package__ = "srprint.attribution"
        sys.modules[modname] = mod
        exec(compile(text, f"{rev}:{name}.py", "exec"), mod.__dict__)  # noqa: S102 - our own committed source
        funcs.append(getattr(mod, func))
    return funcs[0], funcs[1]


def _forwards(steps: list[int], chunk: int, extra: int) -> dict[str, int]:
    """Crop forward passes of a batched search whose crops ran ``steps`` (in order, ``chunk`` per batch):
    the full batch runs each chunk to its longest crop, the shrinking one each crop to its own stop."""
    full = sum(len(c) * (max(c) + extra) for c in (steps[i:i + chunk] for i in range(0, len(steps), chunk)))
    return {"crop_forwards_full": full, "crop_forwards_shrunk": sum(s + extra for s in steps)}


def pixel_case(entry: Any, model: Any, settings: Any, chunk: int, base: Any = None) -> dict[str, Any]:
    """Both ways of the pixel calibration: per-way callables returning per-crop (model, reference) results
    (``base``: the first way's ``invert_batch``, else one crop after another)."""
    from srprint.attribution.inversion import ReferenceModel, invert_model
    from srprint.attribution.inversion_batch import invert_batch
    from srprint.attribution.trace_calibration import calibration_photos

    scale = max(entry.scale, 1)
    photos = calibration_photos(settings.n_calibration, settings.crop - settings.crop % scale)
    kw = {"steps": settings.steps, "lr": settings.lr, "border": settings.border}
    ref = ReferenceModel(scale)

    def old() -> tuple[list[Any], list[Any]]:
        if base is not None:
            return base(model, photos, chunk=chunk, **kw), base(ref, photos, chunk=chunk, **kw)
        return [invert_model(model, p, **kw) for p in photos], [invert_model(ref, p, **kw) for p in photos]

    def new() -> tuple[list[Any], list[Any]]:
        return invert_batch(model, photos, chunk=chunk, **kw), invert_batch(ref, photos, chunk=chunk, **kw)

    def compare(a: tuple[list[Any], list[Any]], b: tuple[list[Any], list[Any]]) -> dict[str, Any]:
        ra = [m.residual / max(r.residual, 1e-30) for m, r in zip(*a, strict=True)]
        rb = [m.residual / max(r.residual, 1e-30) for m, r in zip(*b, strict=True)]
        return {"crops": len(photos), "ratios_identical": ra == rb, "ratio_max_rel_diff": _rel(ra, rb),
                "model_residual_max_rel_diff": _rel([m.residual for m in a[0]], [m.residual for m in b[0]]),
                "reference_residual_max_rel_diff": _rel([m.residual for m in a[1]], [m.residual for m in b[1]]),
                "steps_equal": [m.steps for m in a[0] + a[1]] == [m.steps for m in b[0] + b[1]],
                "stopped_early": sum(m.steps < settings.steps for m in b[0] + b[1]),
                **_forwards([m.steps for m in b[0]], chunk, 1),
                "reference": _forwards([m.steps for m in b[1]], chunk, 1)}

    return {"old": old, "new": new, "compare": compare}


def jpeg_case(entry: Any, model: Any, settings: Any, chunk: int, base: Any = None, own: bool = False
              ) -> dict[str, Any]:
    """Both ways of the JPEG photo null (tables of a q 90 JPEG of a 512-px photo; ``own``: of the model's own
    outputs of the crops; ``base``: the first way's ``jpeg_invert_batch``, else one crop after another)."""
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
    crops = jd.calibration_crops(entry, model, info, side, settings, own=own)
    kw = {"start_steps": settings.jpeg_start_steps, "steps": settings.jpeg_steps, "lr": settings.jpeg_lr,
          "start_lr": settings.lr, "border": settings.jpeg_border}
    ref = jd._reference(model, scale)

    def old() -> tuple[list[Any], list[Any]]:
        if base is not None:
            return base(model, crops, chunk=chunk, **kw), base(ref, crops, chunk=chunk, **kw)
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
                "steps_equal": [m.steps for m in a[0] + a[1]] == [m.steps for m in b[0] + b[1]],
                "violations_new": vb, "hinge_steps_new": [m.steps for m in b[0] + b[1]],
                "stopped_early": sum(m.steps < settings.jpeg_steps for m in b[0] + b[1]),
                **_forwards([m.steps for m in b[0]], chunk, 0),
                "reference": _forwards([m.steps for m in b[1]], chunk, 0)}

    return {"old": old, "new": new, "compare": compare}


def run_case(case: dict[str, Any], reps: int) -> dict[str, Any]:
    """Time old and new ``reps`` times each, alternating their order; compare the first results."""
    secs: dict[str, list[float]] = {"old": [], "new": []}
    load: dict[str, list[float]] = {"old": [], "new": []}
    first: dict[str, Any] = {}
    for r in range(reps):
        for way in ("old", "new") if r % 2 == 0 else ("new", "old"):
            load[way].append(round(os.getloadavg()[0], 2))
            t0 = time.perf_counter()
            out = case[way]()
            secs[way].append(round(time.perf_counter() - t0, 2))
            first.setdefault(way, out)
    med = {k: statistics.median(v) for k, v in secs.items()}
    return {"seconds_old": secs["old"], "seconds_new": secs["new"], "load_old": load["old"], "load_new": load["new"],
            "speedup_median": round(med["old"] / max(med["new"], 1e-9), 2),
            **case["compare"](first["old"], first["new"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, required=True, help="zoo folder of the models")
    ap.add_argument("--models", default="EDSR-skimage-x2-L1-s1,RDN-skimage-x4-VGG+Adv-s1", help="comma-separated ids")
    ap.add_argument("--paths", default="pixel,jpeg", help="comma-separated: pixel, jpeg, jpeg-own")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--against", default=None, help="git revision whose batched code is the first way")
    args = ap.parse_args()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if args.reps < 1 or args.chunk < 1:
        ap.error("--reps and --chunk must be >= 1")
    if not paths or not set(paths) <= {"pixel", "jpeg", "jpeg-own"}:
        ap.error(f"--paths: pixel, jpeg or jpeg-own, not {args.paths!r}")
    from srprint.attribution.trace import TraceSettings
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import ZooEntry

    base = revision_batch(args.against) if args.against else (None, None)
    settings = TraceSettings()
    rows = []
    for mid in [m.strip() for m in args.models.split(",") if m.strip()]:
        entry = ZooEntry.load(args.zoo / mid)
        model = load_entry_model(entry)
        for path in paths:
            if path == "pixel":
                case = pixel_case(entry, model, settings, args.chunk, base[0])
            else:
                case = jpeg_case(entry, model, settings, args.chunk, base[1], own=path == "jpeg-own")
            row = {"model": mid, "path": path, **run_case(case, args.reps)}
            print(row, flush=True)
            rows.append(row)
    data = {"settings": {"trace": asdict(settings), "against": args.against,
                         "chunk": args.chunk, "reps": args.reps, "torch_threads": torch.get_num_threads()},
            "rows": rows}
    old, new = (f"batched at {args.against}", "shrinking batch") if args.against else ("old", "batched")
    title = f"full batch ({args.against}) vs shrinking batch" if args.against else "one-at-a-time vs batched"
    md = [f"# Batched calibration inversions (issue 27): {title}", "",
          f"Default trace settings, chunk {args.chunk}, {args.reps} alternating rounds (A B, B A, ...), "
          f"{torch.get_num_threads()} torch thread(s). Seconds per calibration (model + bicubic reference), each "
          "with the 1-min load average before it; `same` = every per-crop statistic identical; `stopped` = searches "
          "(model and reference) that stopped before the last step; `forwards` = the model's crop forward passes "
          "(pixel: steps + 1; JPEG: hinge steps) of the full batch -> the shrinking one.", "",
          f"| model | path | crops | {old} s (load) | {new} s (load) | speedup (median) | same | max rel diff | "
          "steps equal | stopped | forwards |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        same = r.get("ratios_identical", r.get("statistics_identical"))
        diff = r.get("ratio_max_rel_diff", r.get("statistic_max_rel_diff"))
        timed = {w: ", ".join(f"{t} ({ld})" for t, ld in zip(r[f"seconds_{w}"], r[f"load_{w}"], strict=True))
                 for w in ("old", "new")}
        md.append(f"| {r['model']} | {r['path']} | {r['crops']} | {timed['old']} | {timed['new']} | "
                  f"{r['speedup_median']}x | {same} | {diff:.2g} | {r['steps_equal']} | {r['stopped_early']} | "
                  f"{r['crop_forwards_full']} -> {r['crop_forwards_shrunk']} |")
    name = "trace_batch_calibration_shrink" if args.against else "trace_batch_calibration"
    print(*write_results(name, data, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
