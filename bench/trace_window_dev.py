"""Dev measurement (issue 27): does a larger JPEG window separate the true x2 model from its rival at q 75?

At x2 q 75 the bench's answer is *none* in 32 of 32 (``trace.md``): in the 64-px window (2816 coefficients)
ESPCN's output also lands in the cells of an FSRCNN-made JPEG and vice versa, so the rival rule cannot tell
them apart. Hypothesis: the rival's violations grow with the coefficients traced while the true model stays
near 0. This script measures, on a **dev** corpus that neither the trace calibration (scikit-image photos,
Set5) nor the scored benchmark (LIVE1, McMaster, Urban100) uses, namely the **last** ``--photos`` Kodak24
photos (the release protocol, ``trace_protocol``, uses the first ones), for each maker and window side:
the violations of the true model, of each other candidate and of bicubic upscaling searched through the same
cells (the trace's cell search, default settings), and the seconds of each search.

Resumable: one JSON line per (photo, maker, condition, window) in ``bench/results/trace_window_dev_items.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, jpeg_round_trip, write_results  # noqa: E402

NAME = "trace_window_dev"
ITEMS = RESULTS / f"{NAME}_items.jsonl"
QUALITIES = {"q90": (90,), "q75": (75,), "double": (90, 75)}


def dev_photos(n: int) -> list[tuple[str, np.ndarray]]:
    """The last ``n`` Kodak24 photos (never in trace calibration or in the scored sets)."""
    from srprint.attribution.trace import CALIBRATION_SETS, SCORED_SETS
    from srprint.io.images import read_image
    from srprint.zoo.training_sets import shared_images

    assert "Kodak24" not in set(CALIBRATION_SETS) | set(SCORED_SETS)
    paths = sorted(shared_images(("Kodak24",)), key=lambda p: Path(p).name)[-n:]
    return [(f"Kodak24/{Path(p).name}", read_image(p)[..., :3]) for p in paths]


def _jpeg(img: np.ndarray, qualities: tuple[int, ...]) -> tuple[Any, np.ndarray]:
    return jpeg_round_trip((img * 255).round().astype(np.uint8), qualities)


def measure(maker: Any, img: np.ndarray, cond: str, window: int, entries: list[Any], load: Any,
            settings: Any) -> dict[str, Any]:
    """Violations of bicubic and of every candidate on the ``window``-px crop of ``img``'s JPEG."""
    from srprint.attribution.jpeg_decide import _reference, _search
    from srprint.attribution.jpeg_trace import aligned_jpeg_crop

    info, pic = _jpeg(img, QUALITIES[cond])
    crop = aligned_jpeg_crop(info, pic, 2, window)
    t0 = time.perf_counter()
    ref = _search(_reference(load(maker), 2), crop, settings).test
    row: dict[str, Any] = {"side": crop.size, "n": ref["n"], "bicubic": ref["violations"],
                           "bicubic_s": round(time.perf_counter() - t0, 2), "cands": {}}
    for e in entries:
        t0 = time.perf_counter()
        test = _search(load(e), crop, settings).test
        row["cands"][e.id] = {"violations": test["violations"], "seconds": round(time.perf_counter() - t0, 2)}
    return row


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (condition, window): the true model's and the rivals' violations, the log separation, seconds."""
    out: dict[str, Any] = {}
    for r in items:
        key = f"{r['condition']} {r['window']}"
        d = out.setdefault(key, {"true": [], "rival": [], "bicubic": [], "n": r["n"], "log_sep": [],
                                 "seconds_true": [], "seconds_rival": [], "bicubic_s": []})
        true = r["cands"][r["maker"]]
        d["true"].append(true["violations"])
        d["bicubic"].append(r["bicubic"])
        d["bicubic_s"].append(r["bicubic_s"])
        d["seconds_true"].append(true["seconds"])
        for cid, c in r["cands"].items():
            if cid == r["maker"]:
                continue
            d["rival"].append(c["violations"])
            d["seconds_rival"].append(c["seconds"])
            d["log_sep"].append(round(math.log((c["violations"] + 0.5) / (true["violations"] + 0.5)), 3))
    return out


def markdown(s: dict[str, Any], meta: dict[str, Any]) -> str:
    """The table (title first)."""
    lines = ["# JPEG window size at x2: true model against its rival (issue 27, dev corpus)", "",
             f"Dev photos: {', '.join(meta['photos'])} ({meta['size']}-px aligned centre crops, bicubic x2 "
             "downscale, the maker's output saved as 8 bits, then JPEG by Pillow). Makers and candidates: "
             f"{', '.join(meta['models'])}. Each cell search uses the trace's default settings. `true`: the maker's "
             "violations (coefficients outside the file's cells) on its own JPEG; `rival`: the other candidate's on "
             "the same file; `log sep`: log((rival + 1/2) / (true + 1/2)) per (file, rival); seconds per search "
             "(one thread, a shared 2-core machine, so the times are noisy).", "",
             "| condition, window | coefficients | bicubic (median) | true: violations | rival: violations | "
             "log sep (min / median) | s per search: true / rival / bicubic (median) |",
             "|---|---:|---:|---|---|---|---|"]
    for key, d in s.items():
        lines.append(f"| {key} | {d['n']} | {np.median(d['bicubic']):.0f} | {sorted(d['true'])} | "
                     f"{sorted(d['rival'])} | {min(d['log_sep']):.2f} / {np.median(d['log_sep']):.2f} | "
                     f"{np.median(d['seconds_true']):.1f} / {np.median(d['seconds_rival']):.1f} / "
                     f"{np.median(d['bicubic_s']):.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    from srprint.attribution.trace import TraceSettings
    from srprint.attribution.trace_protocol import made_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--models", default="espcn_opencv_x2,fsrcnn_opencv_x2", help="id substrings")
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--windows", default="64,96,128")
    ap.add_argument("--conditions", default="q75")
    a = ap.parse_args()
    torch.set_num_threads(1)
    pats = [p for p in a.models.split(",") if p]
    entries = [e for e in Zoo(pretrained_zoo_dir()).entries() if any(p in e.id for p in pats)]
    windows = [int(w) for w in a.windows.split(",")]
    conds = [c for c in a.conditions.split(",") if c in QUALITIES]
    cache: dict[str, Any] = {}

    def load(e: Any) -> Any:
        if e.id not in cache:
            cache[e.id] = load_entry_model(e)
        return cache[e.id]

    done = {}
    if ITEMS.is_file():
        for line in ITEMS.read_text().splitlines():
            r = json.loads(line)
            done[(r["photo"], r["maker"], r["condition"], r["window"])] = r
    pics = dev_photos(a.photos)
    settings = TraceSettings()
    for name, photo in pics:
        for m in entries:
            img = None
            for cond in conds:
                for w in windows:
                    if (name, m.id, cond, w) in done:
                        continue
                    if img is None:
                        img = made_image(load(m), photo, 2, a.size)
                    row = {"photo": name, "maker": m.id, "condition": cond, "window": w,
                           **measure(m, img, cond, w, entries, load, settings)}
                    done[(name, m.id, cond, w)] = row
                    with ITEMS.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    items = [r for r in done.values() if r["photo"] in {n for n, _ in pics}]
    meta = {"photos": [n for n, _ in pics], "size": a.size, "models": [e.id for e in entries]}
    s = summarise(items)
    write_results(NAME, {"meta": meta, "summary": s, "items": items}, markdown(s, meta))


if __name__ == "__main__":
    main()
