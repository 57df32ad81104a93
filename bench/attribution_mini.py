"""Attribution benchmark on a render of the ``mini`` zoo: CNN vs PRNU, grouped table, seed groups,
open-set AUROC, JPEG/resize robustness, figures.

Usage::

    python bench/attribution_mini.py                    # newest $SRPRINT_HOME/renders/mini-* render
    python bench/attribution_mini.py --data RENDER --name attribution_demo_render  # another render
    python bench/attribution_mini.py --published        # the published checkpoints, as the mini study

Writes ``bench/results/<name>.json`` / ``.md`` and copies the figures to ``bench/results/<name>/``.
Runs live under ``$SRPRINT_HOME/bench/<name>/`` and are resumed / reused on a rerun (``srprint study
--preset mini`` runs the same protocol, :mod:`srprint.attribution.protocol`, and shares those runs).
Targets (issue 5): CNN >= 97 %; seed groups >= 99 %; CNN >= PRNU + 30 pts; open-set AUROC >= 0.95;
accuracy drop at JPEG q=90 <= 5 pts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, find_mini_render, write_results  # noqa: E402
from srprint.attribution.protocol import (  # noqa: E402
    DEFAULT_HOLDOUT,
    MINI_PUBLISHED_PROTOCOL,
    PUBLISHED_TABLE,
    AttributionProtocol,
    attribution_markdown,
    run_attribution_protocol,
)
from srprint.classify.options import add_classifier_arguments  # noqa: E402
from srprint.classify.tiles import DEFAULT_TILES  # noqa: E402
from srprint.errors import SrprintError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="Render folder (default: newest mini render)")
    ap.add_argument("--name", default="attribution_mini", help="Result file name (label other renders!)")
    ap.add_argument("--where", default="source=trained", help="Rows used for the closed-set study")
    ap.add_argument("--holdout", default=DEFAULT_HOLDOUT, help="Models held out as open-set unknowns ('' = none)")
    # the engine's options, generated from the `srprint attribute train` ones (patience None: the library's)
    add_classifier_arguments(ap, names=("backbone", "input_kind", "jpeg_augment", "jpeg_quality_min", "patience",
                                        "crop", "head_epochs", "epochs", "batch_size", "lr", "max_per_class"),
                             patience=None)
    ap.add_argument("--dct-eps", type=float, default=None, help="Floor of the log-DCT input")
    ap.add_argument("--init", type=Path, default=None, help="Start from another (complete) run's weights")
    ap.add_argument("--prnu-crop", type=int, default=None, help="PRNU crop (default: the CNN's, same pixels)")
    ap.add_argument(
        "--prnu-extra-crops", default="", help="Comma-separated further PRNU crops, overall accuracy only"
    )
    ap.add_argument("--prnu-denoiser", default="wavelet")
    ap.add_argument(
        "--tiles", type=int, default=DEFAULT_TILES, help="Crops per side scored per test image (1 = centre crop only)"
    )
    ap.add_argument("--no-perturb", action="store_true")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--jobs", type=int, default=1, help="PRNU residual processes")
    ap.add_argument("--note", default="", help="A line printed under the title (what this render is)")
    ap.add_argument("--published", action="store_true",
                    help="The mini study's published-checkpoints protocol (attribution_pretrained); no other option")
    args = ap.parse_args()
    if args.published:
        free = ("published", "data", "device")
        changed = [k for k in vars(args) if k not in free and getattr(args, k) != ap.get_default(k)]
        if changed:
            ap.error(f"--published runs the study's options; drop --{changed[0].replace('_', '-')}")
        args.name = PUBLISHED_TABLE

    opts = {k: v for k, v in vars(args).items() if k not in ("data", "name", "device", "no_perturb", "published")}
    opts["init"] = str(args.init) if args.init else None
    opts["prnu_extra_crops"] = tuple(int(v) for v in args.prnu_extra_crops.split(",") if v.strip())
    protocol = MINI_PUBLISHED_PROTOCOL if args.published else AttributionProtocol(**opts, perturb=not args.no_perturb)
    try:
        result = run_attribution_protocol(
            args.data or find_mini_render(), protocol=protocol, device=args.device,
            figures_dir=RESULTS / args.name, name=args.name,
        )
    except SrprintError as exc:
        print(f"error: {exc} (or pass --data RENDER --name attribution_<label>)", file=sys.stderr)
        return 1
    jp, mp = write_results(args.name, result, attribution_markdown(result))
    print(f"wrote {jp} and {mp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
