"""Dev measurement (issue 27): which crop should the pixel path invert, the centre or the hardest for bicubic?

The clean rows of ``trace.md`` named the true model in 28/32 at x2; it ranked first in all 32. On the 4 misses
the true model's ratio to the bicubic reference stayed at 0.17-0.32. A first probe on 12 BSDS500 *test* photos
(not scored, not in any calibration) showed why: the true model reaches the 8-bit floor wherever the crop lies,
so its ratio is at best ``floor / reference residual``, and a smooth centre crop that bicubic upscaling also
reproduces to the floor leaves it near 1 (ESPCN: 0.99 on one photo). :mod:`srprint.attribution.trace_window`
inverts instead the window where the reference starts worst (inside the centred region of twice the crop), and
calibrates on windows chosen the same way.

This script compares the two rules with the library's whole decision (``trace_image``, default settings but
the window) on a fresh **dev** corpus: BSDS500 *test* photos ``--start``..``--start + --photos`` (the probe used
the first 12). Per photo: the image each test model makes (``--size``-px aligned centre crop, bicubic x2 down,
the model, 8 bits), traced among all candidates and again without its maker (open set), and the photo itself
(no model made it). Resumable: one JSON line per (photo, image, window) in ``bench/results/<name>_items.jsonl``.
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
from _common import RESULTS, write_results  # noqa: E402

NAME = "trace_window_pixel_dev"


def wilson(k: int, n: int) -> str:
    from srprint.rates import wilson_interval

    if n == 0:
        return "n/a"
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} [{100 * lo:.1f}, {100 * hi:.1f}] %"


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for w in sorted({r["window"] for r in items}):
        rows = [r for r in items if r["window"] == w]
        made = [r for r in rows if r["image"] != "photo"]
        photos = [r for r in rows if r["image"] == "photo"]
        out[w] = {
            "made_n": len(made),
            "named_true": sum(r["verdict"] == "made by" and r["model"] == r["image"] for r in made),
            "named_wrong": sum(r["verdict"] == "made by" and r["model"] != r["image"] for r in made),
            "ranked_first": sum(r["argmin"] == r["image"] for r in made),
            "open_false": sum(r["open_verdict"] == "made by" for r in made),
            "photo_n": len(photos),
            "photo_false": sum(r["verdict"] == "made by" for r in photos),
            "true_ratio_max": max((r["true_ratio"] for r in made), default=None),
            "true_ratio_median": float(np.median([r["true_ratio"] for r in made])) if made else None,
            "seconds_median": float(np.median([r["seconds"] for r in rows])) if rows else None,
        }
    return out


def markdown(s: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = ["# Pixel path window: centre crop against the window hardest for bicubic (issue 27, dev corpus)", "",
             f"Dev photos: BSDS500 test {meta['photos'][0]} .. {meta['photos'][-1]} ({len(meta['photos'])}; never "
             "scored, never in a calibration). Images: each test model's output of the photo's "
             f"{meta['size']}-px aligned centre crop (bicubic down by the model's scale, saved as 8 bits), and the "
             "photo crop itself. "
             f"Candidates: {', '.join(meta['models'])}. The library's decision (`trace_image`, default settings but "
             f"`window`; rule: {meta.get('rule', 'photo null')}), open set = the same image without its maker. 95 % "
             "Wilson intervals.", "",
             "| window | named its maker | named a wrong model | maker ranked first | open set: false | photos: "
             "false | true ratio (median / max) | s per trace (median) |", "|---|---|---:|---|---|---|---|---:|"]
    for w, d in s.items():
        lines.append(f"| {w} | {wilson(d['named_true'], d['made_n'])} | {d['named_wrong']} | "
                     f"{wilson(d['ranked_first'], d['made_n'])} | {wilson(d['open_false'], d['made_n'])} | "
                     f"{wilson(d['photo_false'], d['photo_n'])} | {d['true_ratio_median']:.3g} / "
                     f"{d['true_ratio_max']:.3g} | {d['seconds_median']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    from srprint.attribution import trace as tr
    from srprint.attribution.trace_protocol import made_image
    from srprint.io.images import read_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.ownership import memoised
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir
    from srprint.zoo.training_sets import shared_images

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--models", default="espcn_opencv_x2,fsrcnn_opencv_x2,fsrcnn-small_opencv_x2,imdn-rtc_official_x2")
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--start", type=int, default=12)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--windows", default="centre,textured")
    ap.add_argument("--name", default=NAME)
    ap.add_argument("--level", type=float, default=None, help="TraceSettings.pixel_level (default: the library's)")
    ap.add_argument("--rule", default="photo null", help="what the run's library decides with (written in the table)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    items_path = RESULTS / f"{a.name}_items.jsonl"
    pats = [p for p in a.models.split(",") if p]
    entries = [e for e in Zoo(pretrained_zoo_dir()).entries() if any(p in e.id for p in pats)]
    load = memoised(load_entry_model)  # each model read once

    done: dict[tuple, dict] = {}
    if items_path.is_file():
        for line in items_path.read_text().splitlines():
            r = json.loads(line)
            done[(r["photo"], r["image"], r["window"])] = r
    paths = shared_images(("BSDS500",), ("test",))[a.start:a.start + a.photos]
    names = [f"BSDS500/test/{Path(p).name}" for p in paths]
    for name, p in zip(names, paths, strict=True):
        photo = read_image(p)[..., :3]
        images = {e.id: made_image(load(e), photo, max(e.scale, 1), a.size) for e in entries}
        images["photo"] = np.round(tr.centre_crop(photo, a.size, 2) * 255) / 255
        for w in a.windows.split(","):
            settings = tr.TraceSettings(window=w, **({} if a.level is None else {"pixel_level": a.level}))
            for image_id, img in images.items():
                if (name, image_id, w) in done:
                    continue
                t0 = time.perf_counter()
                res = tr.trace_image(img, entries, load, settings=settings)
                secs = time.perf_counter() - t0
                rows = {r["id"]: r for r in res["candidates"]}
                row = {"photo": name, "image": image_id, "window": w, "verdict": res["verdict"], "model": res["model"],
                       "p_value": res["p_value"], "argmin": min(rows.values(), key=lambda r: r["ratio"])["id"],
                       "true_ratio": rows[image_id]["ratio"] if image_id in rows else None,
                       "true_floor": rows[image_id]["floor_ratio"] if image_id in rows else None,
                       "p_rival": next((r["p_rival"] for r in rows.values() if r.get("p_rival") is not None), None),
                       "seconds": round(secs, 2)}
                if image_id != "photo":
                    others = [e for e in entries if e.id != image_id]
                    op = tr.trace_image(img, others, load, settings=settings)
                    row |= {"open_verdict": op["verdict"], "open_model": op["model"], "open_p": op["p_value"],
                            "open_p_rival": next((r["p_rival"] for r in op["candidates"]
                                                  if r.get("p_rival") is not None), None)}
                done[(name, image_id, w)] = row
                with items_path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    items = [r for r in done.values() if r["photo"] in set(names)]
    meta = {"photos": names, "size": a.size, "models": [e.id for e in entries], "rule": a.rule}
    s = summarise(items)
    write_results(a.name, {"meta": meta, "summary": s, "items": items}, markdown(s, meta))


if __name__ == "__main__":
    main()
