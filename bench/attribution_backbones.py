"""Backbone comparison (the study's Table 2) on a subset of a render, same budget for every backbone.

Usage::

    python bench/attribution_backbones.py                       # newest mini render, x4 seed-1 models
    python bench/attribution_backbones.py --data RENDER --where 'scale=4' --name attribution_backbones_demo

Every backbone gets the same crop, epochs, batch size, learning rate and per-class image cap.
Writes ``bench/results/<name>.json`` / ``.md``; runs under ``$SRPRINT_HOME/bench/<name>/`` are reused
(``srprint study --preset mini`` runs the same protocol, :mod:`srprint.attribution.backbones_protocol`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import find_mini_render, write_results  # noqa: E402
from srprint.attribution.backbones_protocol import (  # noqa: E402
    BACKBONES,
    BackbonesProtocol,
    backbones_markdown,
    run_backbones_protocol,
)
from srprint.classify.options import add_classifier_arguments  # noqa: E402
from srprint.errors import SrprintError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--name", default="attribution_backbones")
    ap.add_argument("--where", default="source=trained,scale=4,seed=1", help="The subset (manifest filter)")
    ap.add_argument("--backbones", default=",".join(BACKBONES))
    # the engine's options, generated from the `srprint attribute train` ones, with this comparison's defaults
    add_classifier_arguments(ap, names=("input_kind", "crop", "head_epochs", "epochs", "batch_size", "lr",
                                        "max_per_class"), crop=96, head_epochs=1, epochs=6, max_per_class=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--note", default="", help="A line printed under the title (what this render is)")
    args = ap.parse_args()

    opts = {k: v for k, v in vars(args).items() if k not in ("data", "name", "device")}
    opts["backbones"] = tuple(b.strip() for b in args.backbones.split(",") if b.strip())
    try:
        run_backbones_protocol(
            args.data or find_mini_render(), protocol=BackbonesProtocol(**opts), device=args.device, name=args.name,
            # after every backbone: partial results survive a kill
            on_row=lambda partial: write_results(args.name, partial, backbones_markdown(partial)),
        )
    except SrprintError as exc:
        print(f"error: {exc} (or pass --data RENDER --name attribution_backbones_<label>)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
