"""Benchmark of tracing images to their model by inversion (issue 16).

The protocol (test images, candidates, closed and open set, pruning, JPEG) is
:mod:`srprint.attribution.trace_protocol`, which ``srprint study --preset mini`` runs too; this
script only parses options. Test models and candidates: the published models imported from
``../shared/data/pretrained`` (``$SRPRINT_HOME/bench/pretrained_zoo``); test photos: Kodak24.

Writes bench/results/trace.{json,md} (after every image: a killed run keeps its numbers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402
from srprint.attribution.trace_protocol import TraceOptions, run_trace_protocol, trace_markdown  # noqa: E402
from srprint.zoo.study import pretrained_zoo_dir  # noqa: E402


def _csv(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--zoo", type=Path, default=pretrained_zoo_dir())
    ap.add_argument("--photos", type=int, default=1)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--coarse-steps", type=int, default=40)
    ap.add_argument("--keep", type=int, default=8)
    ap.add_argument("--full-images", type=int, default=0, help="images also traced without pruning (timing; "
                    "calibrates every candidate)")
    ap.add_argument("--jpeg", default="90")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--test-scales", default="2", help="scales of the test models (the CPU budget: x2, the 11 "
                    "models of the issue's probe)")
    ap.add_argument("--exclude", default="craft_", help="candidates left out (CRAFT: minutes per inversion on a CPU)")
    a = ap.parse_args()
    options = TraceOptions(photos=a.photos, crop=a.crop, coarse_steps=a.coarse_steps, keep=a.keep,
                           full_images=a.full_images, jpeg=tuple(int(q) for q in _csv(a.jpeg)), threads=a.threads,
                           test_scales=tuple(int(s) for s in _csv(a.test_scales)), exclude=tuple(_csv(a.exclude)))
    res = run_trace_protocol(zoo=a.zoo, options=options,
                             on_image=lambda partial: write_results("trace", partial, trace_markdown(partial)))
    md = trace_markdown(res)
    write_results("trace", res, md)
    print(md)


if __name__ == "__main__":
    main()
