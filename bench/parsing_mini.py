"""Parsing benchmark on the ``mini`` render: held-out parser table, FEN+PN vs baselines, imported models.

Usage::

    python bench/parsing_mini.py --data RENDER [--profile cpu|gpu|smoke] [--device auto] [--name parsing_mini]

The protocol is :mod:`srprint.parsing.protocol` (the ``mini`` study runs the same stage
functions); this script only maps its flags onto :class:`~srprint.parsing.protocol.ParsingProtocol`.
``RENDER`` defaults to the newest ``$SRPRINT_HOME/renders/mini-*`` folder. Writes
``bench/results/<name>.json`` and ``.md`` (commit + machine info) and keeps every run under
``--work`` (default ``$SRPRINT_HOME/bench/<name>``) so an interrupted benchmark resumes.

Sections (issue 6, acceptance 2):

1. held-out parser table (targets x held-out values) next to the study's Table 5;
2. FEN+PN vs "random ground truth" vs "no fingerprint" (leave-models-out CV): L1, F1 discrete,
   F1 coarse / fine loss, aggregated over 1 / 10 / 100 images; real-vs-generated AUC; attribution;
3. prediction tables for the imported third-party models (scale, loss family known from models.csv):
   the study's protocol (parsers trained on the zoo), then scale and pixel-vs-adversarial parsers with
   a per-model budget trained on the zoo only and on the zoo plus the other imported families
   (``--crossfit-folds``, family-grouped cross-validation: no parser sees the family it predicts).

Parsers score each test image on ``--tiles`` x ``--tiles`` crops (default 3, the library's default;
1 = the study's centre crop). Section 3b also reports the centre-crop scores of the same runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import find_mini_render, write_results  # noqa: E402
from srprint.classify.tiles import DEFAULT_TILES  # noqa: E402
from srprint.errors import SrprintError  # noqa: E402
from srprint.parsing.protocol import PROFILES, SECTIONS, ParsingProtocol, run_parsing_protocol  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="cpu")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--name", default="parsing_mini")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--note", default="", help="A line added under the title (e.g. what the render is)")
    ap.add_argument("--skip", nargs="*", default=[], choices=list(SECTIONS))
    ap.add_argument("--targets", default="scale,loss,arch,dataset", help="Held-out table targets (comma list)")
    ap.add_argument("--where", default=None, help="Manifest filter applied to the whole benchmark")
    ap.add_argument("--folds", type=int, default=None, help="Override the profile's FEN CV folds")
    ap.add_argument("--shuffles", type=int, default=None, help="Override the profile's random-GT shuffles")
    ap.add_argument("--fen-epochs", type=int, default=None, help="Override the profile's FEN+PN epochs")
    ap.add_argument("--max-per-class", type=int, default=None,
                    help="Override the profile's training images per class of the held-out parsers")
    ap.add_argument("--crossfit-folds", type=int, default=4,
                    help="Imported models: family folds of the zoo+imported parsers (0: skip that protocol)")
    ap.add_argument("--crossfit-per-model", type=int, default=40,
                    help="Imported models: training images per model of the zoo-only / family-out parsers")
    ap.add_argument("--crossfit-protocols", default="family_out,zoo_only",
                    help="Imported-model protocols to run (comma list of family_out, zoo_only)")
    ap.add_argument("--tiles", type=int, default=DEFAULT_TILES,
                    help="Crops per side scored per test image (1 = the study's centre crop)")
    args = ap.parse_args()
    data = args.data or find_mini_render()
    if data is None:
        raise SystemExit("error: no mini render found: pass --data RENDER (srprint render --zoo <mini zoo> ...)")
    try:
        protocol = ParsingProtocol(
            profile=args.profile,
            sections=tuple(s for s in SECTIONS if s not in args.skip),
            targets=tuple(args.targets.split(",")),
            where=args.where,
            folds=args.folds,
            shuffles=args.shuffles,
            fen_epochs=args.fen_epochs,
            max_per_class=args.max_per_class,
            crossfit_folds=args.crossfit_folds,
            crossfit_per_model=args.crossfit_per_model,
            crossfit_protocols=tuple(p for p in args.crossfit_protocols.split(",") if p),
            tiles=args.tiles,
            note=args.note,
        )
        result, markdown = run_parsing_protocol(data, work=args.work, protocol=protocol,
                                                device=args.device, name=args.name)
    except SrprintError as exc:  # one line, as the srprint CLI prints a user error
        raise SystemExit(f"error: {exc}") from None
    jp, mp = write_results(args.name, result, markdown)
    print(f"wrote {jp} and {mp}")


if __name__ == "__main__":
    main()
