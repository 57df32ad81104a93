"""Dev measurement (issue 27): is the JPEG rival rule's null honest for recompressed (double) JPEG?

The rival rule (:func:`srprint.attribution.jpeg_decide.rival_tests`) compares a candidate's statistic
``s = (v_C + 1/2) / (v_ref + 1/2)`` on the traced file with the ``s`` it reaches on *other* candidates'
outputs of the calibration photos compressed with the file's tables (once). This script measures, for the
four published x2 models of the bench's x2 slice, two samples of ``s`` for every (candidate, maker) pair:

* ``cal`` rows: the calibration images the trace uses (:func:`~srprint.attribution.trace_calibration.
  calibration_photos`, the first ``--cal`` crops of twice the window), made by each maker (the same
  ``_own_output`` as the calibration), compressed with Pillow at q 75 once (what the rival null uses for a q 75
  or a q 90-then-75 file: the final tables) and, for the first ``--cal-double`` of them, at q 90 then q 75;
* ``dev`` rows: files like the bench's (a 96-px aligned crop, bicubic x2 down, the maker's 8-bit output, then
  Pillow JPEG q 75 or q 90 then 75) from a **dev** corpus that neither calibration nor the scored sets use:
  the last ``--photos`` Kodak24 photos, ``--crops`` crops each (centre first, then quarter points).

From the rows, any rival null (which images, which makers, single or double compression, which fit) can be
rebuilt offline and its p-values for wrong models (should be ~uniform) and true models read off:
``bench/trace_rival_eval.py``. Resumable: one JSON line per (kind, image, maker, condition).
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
from _common import RESULTS, jpeg_round_trip  # noqa: E402
from trace_window_dev import dev_photos  # noqa: E402

NAME = "trace_rival_dev"
ITEMS = RESULTS / f"{NAME}_items.jsonl"
QUALITIES = {"q75": (75,), "double": (90, 75), "q90": (90,)}
DEV_CONDITIONS = ("q75", "double")
MODELS = "espcn_opencv_x2,fsrcnn_opencv_x2,fsrcnn-small_opencv_x2,imdn-rtc_official_x2"


def dev_crops(photo: np.ndarray, n: int, side: int) -> list[np.ndarray]:
    """``n`` crops of ``side`` px of ``photo`` (8-aligned): the centre, then the four quarter points."""
    h, w = photo.shape[:2]
    spots = [(h // 2, w // 2), (h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    out = []
    for cy, cx in spots[:n]:
        y0, x0 = max(0, (cy - side // 2) // 16 * 16), max(0, (cx - side // 2) // 16 * 16)
        out.append(np.asarray(photo[y0:y0 + side, x0:x0 + side], np.float32))
    return out


def statistics(img: np.ndarray, qualities: tuple[int, ...], side: int, entries: list[Any], load: Any,
               settings: Any) -> dict[str, Any]:
    """``s`` of every candidate (and the bicubic reference's violations) on ``img``'s JPEG at ``qualities``."""
    from srprint.attribution.jpeg_decide import _reference, _search, _statistic
    from srprint.attribution.jpeg_trace import aligned_jpeg_crop

    info, pic = jpeg_round_trip((np.clip(img, 0, 1) * 255).round().astype(np.uint8), qualities)
    crop = aligned_jpeg_crop(info, pic, 2, side, context=settings.jpeg_context)
    t0 = time.perf_counter()
    ref = _search(_reference(load(entries[0]), 2), crop, settings).test
    row: dict[str, Any] = {"n": ref["n"], "bicubic": ref["violations"], "s": {}, "v": {}}
    for e in entries:
        test = _search(load(e), crop, settings).test
        row["s"][e.id] = _statistic(test, ref)
        row["v"][e.id] = test["violations"]
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def main() -> None:
    import torch

    from srprint.attribution.jpeg_decide import _own_output
    from srprint.attribution.trace import TraceSettings
    from srprint.attribution.trace_calibration import calibration_photos
    from srprint.attribution.trace_protocol import made_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--models", default=MODELS, help="id substrings")
    ap.add_argument("--cal", type=int, default=32, help="calibration images (single q 75)")
    ap.add_argument("--cal-double", type=int, default=8, help="of them, also compressed q 90 then q 75")
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--crops", type=int, default=3)
    ap.add_argument("--parts", default="dev,cal")
    ap.add_argument("--cal-conditions", default="q75,double", help="of q75, double (the first --cal-double), q90")
    a = ap.parse_args()
    torch.set_num_threads(1)
    pats = [p for p in a.models.split(",") if p]
    entries = [e for e in Zoo(pretrained_zoo_dir()).entries() if any(p + "-" in e.id for p in pats)]
    assert len(entries) == len(pats), [e.id for e in entries]
    cache: dict[str, Any] = {}

    def load(e: Any) -> Any:
        if e.id not in cache:
            cache[e.id] = load_entry_model(e)
        return cache[e.id]

    done = set()
    if ITEMS.is_file():
        for line in ITEMS.read_text().splitlines():
            r = json.loads(line)
            done.add((r["kind"], r["image"], r["maker"], r["condition"]))
    settings = TraceSettings()
    side = settings.jpeg_window(2)

    def emit(kind: str, image: str, maker: Any, cond: str, img_fn: Any) -> None:
        if (kind, image, maker.id, cond) in done:
            return
        row = {"kind": kind, "image": image, "maker": maker.id, "condition": cond,
               **statistics(img_fn(), QUALITIES[cond], side, entries, load, settings)}
        done.add((kind, image, maker.id, cond))
        with ITEMS.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    parts = a.parts.split(",")
    if "dev" in parts:
        for name, photo in dev_photos(a.photos):
            for j, c in enumerate(dev_crops(photo, a.crops, side)):
                for m in entries:
                    for cond in DEV_CONDITIONS:
                        emit("dev", f"{name}#{j}", m, cond, lambda m=m, c=c: made_image(load(m), c, 2, side))
    if "cal" in parts:
        photos = calibration_photos(a.cal, 2 * side)
        for k, img in enumerate(photos):
            for m in entries:
                for cond in [c for c in a.cal_conditions.split(",") if c in QUALITIES
                             and (c != "double" or k < a.cal_double)]:
                    emit("cal", str(k), m, cond, lambda m=m, img=img: _own_output(m, load(m), img))


if __name__ == "__main__":
    main()
