"""Dev measurement (issue 27): is IMDN-RTC x2's *none* at q 75 a limit of the 96-px test images?

At x2 q 75 and q 90 then 75 the bench names IMDN-RTC in 0 of 32 JPEGs of its own 96-px outputs (``trace.md``,
method 9): it lands in every cell of its own JPEG (0 violations), but it also lands in every cell of some photo
crops of the calibration, so its photo null's p-value stays at 0.004-0.017 (named below 1e-3). The window
cannot grow on a 96-px image (it is the whole image). This script asks what larger images would give: for
each **dev** photo (the last 3 Kodak24 photos and the first 5 of Set14: neither in the trace calibration,
scikit-image's photos and Set5, nor in the scored sets, LIVE1, McMaster, Urban100), IMDN-RTC's output of its
aligned centre crop (``--sizes`` px), JPEG-compressed, is traced by the library's own JPEG rows
(:func:`srprint.attribution.jpeg_decide.jpeg_rows`: the cell search, the bicubic ratio, the 32-crop photo
null at the same window) with IMDN-RTC as the only candidate, at each x2 window side in ``--windows`` that
fits the image. Recorded: the statistic, its photo-null p-value, the calibration's minimum, whether it
passes the photo null (p < 1e-3 and below every calibration value). Nothing here changes a setting; the rival
and sibling rules are not run (they need every candidate's calibrations at each window).

Resumable: one JSON line per (photo, size, condition, window) in
``bench/results/trace_window_size_dev_items.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, jpeg_round_trip, write_results  # noqa: E402

NAME = "trace_window_size_dev"
ITEMS = RESULTS / f"{NAME}_items.jsonl"
QUALITIES = {"q75": (75,), "double": (90, 75)}
ALPHA = 1e-3  # the trace's level (TraceOptions.alpha)


def dev_photos() -> list[tuple[str, np.ndarray]]:
    """The last 3 Kodak24 photos and the first 5 Set14 photos (never calibration, never scored)."""
    from srprint.attribution.trace import CALIBRATION_SETS, SCORED_SETS
    from srprint.io.images import read_image
    from srprint.zoo.training_sets import shared_images

    assert not {"Kodak24", "Set14"} & (set(CALIBRATION_SETS) | set(SCORED_SETS))
    kodak = sorted(shared_images(("Kodak24",)), key=lambda p: Path(p).name)[-3:]
    set14 = sorted(shared_images(("Set14",)), key=lambda p: Path(p).name)[:5]
    return [(f"{s}/{Path(p).name}", read_image(p)[..., :3]) for s, ps in (("Kodak24", kodak), ("Set14", set14))
            for p in ps]


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (size, condition, window): how many files pass the photo null, with the median p-value."""
    from srprint.rates import wilson_interval

    out: dict[str, Any] = {}
    for r in items:
        d = out.setdefault(f"{r['size']} px, {r['condition']}, window {r['window']}",
                           {"n": 0, "passed": 0, "p": [], "violations": [], "null_min": [], "seconds": []})
        d["n"] += 1
        d["passed"] += int(r["passed"])
        d["p"].append(r["p_value"])
        d["violations"].append(r["violations"])
        d["null_min"].append(r["null_min"])
        d["seconds"].append(r["seconds"])
    for d in out.values():
        d["rate_ci"] = list(wilson_interval(d["passed"], d["n"]))
    return out


def markdown(s: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = ["# JPEG tracing of IMDN-RTC x2 against image size and window (issue 27, dev corpus)", "",
             f"Dev photos: {', '.join(meta['photos'])}. Maker and only candidate: {meta['model']}. Each file is its "
             "output of the photo's aligned centre crop at the size shown (bicubic x2 downscale, 8-bit), JPEG by "
             "Pillow. The library's JPEG rows at the x2 window shown (the whole image at 96 px), each window with "
             "its own 32-crop photo null. *passes*: p < 1e-3 and the statistic below every calibration value (the "
             "photo-null part of the verdict; the rival and sibling rules were not run). 95 % Wilson intervals.", "",
             "| size, condition, window | passes the photo null | p (median, max) | violations | "
             "calibration minimum (median) | s per file (median) |", "|---|---|---|---|---|---|"]
    for key, d in sorted(s.items(), key=lambda kv: [int(x) if x.isdigit() else x for x in kv[0].replace(",", "")
                                                    .split()]):
        lo, hi = d["rate_ci"]
        lines.append(f"| {key} | {d['passed']}/{d['n']} [{100 * lo:.1f}, {100 * hi:.1f}] % | "
                     f"{np.median(d['p']):.2g}, {max(d['p']):.2g} | {sorted(d['violations'])} | "
                     f"{np.median(d['null_min']):.2g} | {np.median(d['seconds']):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    from srprint.attribution.jpeg_decide import _passing, jpeg_rows
    from srprint.attribution.trace import TraceSettings
    from srprint.attribution.trace_protocol import made_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--model", default="imdn-rtc_official_x2")
    ap.add_argument("--sizes", default="96,192")
    ap.add_argument("--windows", default="96,128,160")
    ap.add_argument("--conditions", default="q75,double")
    a = ap.parse_args()
    torch.set_num_threads(1)
    entry = next(e for e in Zoo(pretrained_zoo_dir()).entries() if a.model in e.id)
    model = load_entry_model(entry)
    done: dict[tuple, dict[str, Any]] = {}
    if ITEMS.is_file():
        for line in ITEMS.read_text().splitlines():
            r = json.loads(line)
            done[(r["photo"], r["size"], r["condition"], r["window"])] = r
    pics = dev_photos()
    sizes = [int(x) for x in a.sizes.split(",")]
    for size in sizes:  # the small images first: their windows' calibrations are the bench's
        for window in [int(w) for w in a.windows.split(",") if int(w) <= size]:
            settings = TraceSettings(jpeg_crop_x2=window)
            for name, photo in pics:
                img = None
                for cond in [c for c in a.conditions.split(",") if c in QUALITIES]:
                    if (name, size, cond, window) in done:
                        continue
                    if img is None:
                        img = made_image(model, photo, 2, size)
                    info, pic = jpeg_round_trip((img * 255).round().astype(np.uint8), QUALITIES[cond])
                    t0 = time.perf_counter()
                    rows, skipped = jpeg_rows(pic, info, [entry], lambda e: model, settings=settings)
                    row = rows[0] if rows else {"violations": None, "ratio": None, "p_value": 1.0, "null_min": None}
                    s, nmin = row.get("ratio"), row.get("null_min")
                    passed = bool(_passing(rows, ALPHA))  # the verdict's own photo-null rule
                    out = {"photo": name, "size": size, "condition": cond, "window": window,
                           "crop": row.get("crop"), "violations": row.get("violations"),
                           "bicubic_violations": row.get("bicubic_violations"), "ratio": s,
                           "p_value": row["p_value"], "null_min": nmin, "null_median": row.get("null_median"),
                           "passed": passed, "skipped": skipped, "seconds": round(time.perf_counter() - t0, 1)}
                    done[(name, size, cond, window)] = out
                    with ITEMS.open("a") as fh:
                        fh.write(json.dumps(out) + "\n")
                    print(json.dumps(out), flush=True)
    items = [r for r in done.values() if r["photo"] in {n for n, _ in pics}]
    meta = {"photos": [n for n, _ in pics], "model": entry.id}
    s = summarise(items)
    write_results(NAME, {"meta": meta, "summary": s, "items": items}, markdown(s, meta))


if __name__ == "__main__":
    main()
