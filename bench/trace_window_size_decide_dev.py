"""Dev measurement (issue 27): the full JPEG verdict at x2 on larger images, with a 160-px window against 96.

``trace_window_size_dev.md`` found IMDN-RTC x2 unnamable at q 75 on 96-px images (its photo null: 0 of 8 dev
files pass) and passing its photo null on 8 of 8 192-px dev files with a 160-px window. The photo null is one
rule of the verdict: the sibling and rival rules (every other candidate's calibrations at that window) can
still block or mislead it, and a larger window changes every x2 candidate's search. This script runs the
benchmark's own ``trace_item`` (``bench/trace.py``: the library's ``trace_image`` with every x2 candidate, then
the open set without the maker) on 192-px files made from **dev** photos (``trace_window_size_dev.dev_photos``:
the last 3 Kodak24 and the first 5 Set14 photos; never calibration, never scored) by each of the bench's four
published x2 models, at x2 windows 160 and 96 (``TraceSettings.jpeg_crop_x2``). Nothing is scored; no setting
changes. Resumable: one JSON line per (photo, maker, condition, window); ``--budget-s`` stops between items.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402
from trace_window_size_dev import dev_photos  # noqa: E402

NAME = "trace_window_size_decide_dev"
ITEMS = RESULTS / f"{NAME}_items.jsonl"
MODELS = "espcn_opencv_x2,fsrcnn_opencv_x2,fsrcnn-small_opencv_x2,imdn-rtc_official_x2"


def _bench_trace() -> Any:
    """``bench/trace.py`` as a module (its name would shadow the standard library's ``trace``)."""
    spec = importlib.util.spec_from_file_location("bench_trace", Path(__file__).parent / "trace.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (condition, window): named right, confident wrong, open-set false attributions; per maker too."""
    from srprint.rates import wilson_interval

    out: dict[str, Any] = {}
    for r in items:
        for key in (f"{r['condition']}, window {r['window']}",
                    f"{r['condition']}, window {r['window']}, {r['model'].split('_')[0]}"):
            d = out.setdefault(key, {"n": 0, "right": 0, "wrong": 0, "open_false": 0, "seconds": []})
            d["n"] += 1
            d["right"] += int(r["verdict"] == "made by" and r["predicted"] == r["model"])
            d["wrong"] += int(r["verdict"] == "made by" and r["predicted"] != r["model"])
            d["open_false"] += int(r["open_verdict"] == "made by")
            d["seconds"].append(r["seconds"])
    for d in out.values():
        d["right_ci"] = list(wilson_interval(d["right"], d["n"]))
        d["open_false_ci"] = list(wilson_interval(d["open_false"], d["n"]))
    return out


def markdown(s: dict[str, Any], meta: dict[str, Any]) -> str:
    def pct(k: int, n: int, ci: list[float]) -> str:
        return f"{k}/{n} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}] %"

    lines = ["# JPEG verdict at x2 on 192-px files: window 160 against 96 (issue 27, dev corpus)", "",
             f"Dev photos: {', '.join(meta['photos'])} (192-px aligned centre crops; each maker's 8-bit output of "
             f"the bicubic x2 downscale, then Pillow JPEG). Makers and candidates: {', '.join(meta['models'])}. "
             "Each file traced by `bench/trace.py`'s `trace_item` (the library's verdict with every candidate, then "
             "the open set without the maker), at the x2 window shown, each window with its own calibrations. "
             "Dev only: nothing here is scored, no setting was changed. 95 % Wilson intervals.", "",
             "| condition, window, maker | n | named right | confident wrong | open set: false attributions | "
             "s per file (median) |", "|---|---:|---|---:|---|---:|"]
    for key in sorted(s):
        d = s[key]
        lines.append(f"| {key} | {d['n']} | {pct(d['right'], d['n'], d['right_ci'])} | {d['wrong']} | "
                     f"{pct(d['open_false'], d['n'], d['open_false_ci'])} | {np.median(d['seconds']):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    from srprint.attribution.trace import TraceSettings
    from srprint.attribution.trace_protocol import made_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.ownership import memoised
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--windows", default="160,96")
    ap.add_argument("--conditions", default="q75,double,q90")
    ap.add_argument("--budget-s", type=float, default=0.0)
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    bt = _bench_trace()
    pats = MODELS.split(",")
    cands = [e for e in Zoo(pretrained_zoo_dir()).entries() if any(p in e.id for p in pats)]
    load = memoised(load_entry_model)
    done: dict[tuple, dict[str, Any]] = {}
    if ITEMS.is_file():
        for line in ITEMS.read_text().splitlines():
            r = json.loads(line)
            done[(r["photo"], r["model"], r["condition"], r["window"])] = r
    pics = dev_photos()
    t_start, spent = time.perf_counter(), False
    for cond in [] if a.report_only else [c for c in a.conditions.split(",") if c]:
        for window in [int(w) for w in a.windows.split(",")]:
            settings = TraceSettings(jpeg_crop_x2=window)
            for name, photo in pics:
                for m in cands:
                    if (name, m.id, cond, window) in done or spent:
                        continue
                    if a.budget_s and time.perf_counter() - t_start > a.budget_s:
                        print("budget spent; rerun to resume", flush=True)
                        spent = True
                        continue
                    img = made_image(load(m), photo, 2, a.size)
                    row = {**bt.trace_item(m, img, cond, cands, load, settings), "photo": name, "window": window,
                           "size": a.size}
                    done[(name, m.id, cond, window)] = row
                    with ITEMS.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(f"{cond} w{window} {name} {m.id}: {row['verdict']} {row['predicted']} "
                          f"(open: {row['open_verdict']} {row['open_model']}) {row['seconds']} s", flush=True)
    items = list(done.values())
    meta = {"photos": [n for n, _ in pics], "models": [e.id for e in cands]}
    s = summarise(items)
    write_results(NAME, {"meta": meta, "summary": s, "items": items}, markdown(s, meta))


if __name__ == "__main__":
    main()
