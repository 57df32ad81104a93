"""Benchmark of ownership verification v3 (issue 26), or with --v2 the parameter-lineage benchmark (issue 15).

v3 (the default): :mod:`srprint.verification.protocol_v3`, resumable (items in
``$SRPRINT_HOME/bench/verification_v3/items.jsonl``; ``--max-seconds`` stops cleanly, a rerun resumes);
writes bench/results/verification_v3.{json,md}. ``--timing`` times a sample of decided pairs twice (the
second time with the source's nulls stored, as for a registered owner; ``timing.jsonl``, resumable);
``--report-only`` rewrites the results from the cached rows without computing anything.

v2: the protocol (sources, copies, negatives, nulls, the calibrated copy band) is
:mod:`srprint.verification.protocol`, which ``srprint study --preset mini`` runs too; this script
only parses options. Sources: the published models imported from ``../shared/data/pretrained``
(``$SRPRINT_HOME/bench/pretrained_zoo``, made by ``bench/pretrained_quality.py`` or
``srprint zoo import --manifest``) and the mini zoo (``$SRPRINT_HOME/zoos/mini``).

Writes bench/results/verification.{json,md}. The paper's critical-image rule on the
22-source benchmark is in verification_quan.{json,md} (bench/verification_quan.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402
from srprint.verification.protocol import (  # noqa: E402
    VerificationOptions,
    default_attacked_dir,
    default_zoos,
    run_verification_protocol,
    verification_markdown,
)


def main_v3(a: argparse.Namespace) -> None:
    from srprint.config import srprint_home
    from srprint.verification.protocol_v3 import (
        ProtocolV3Options,
        _done,
        all_rows,
        remaining_items,
        run_protocol_v3,
        select_sources,
        summarise_v3,
    )
    from srprint.verification.protocol_v3_markdown import markdown_v3
    from srprint.verification.protocol_v3_rows import headline_and_current, seed_rows_from_results
    from srprint.verification.protocol_v3_timing import carried_timing, summarise_timing, time_decided_pairs

    zoos = default_zoos()
    work = srprint_home() / "bench" / "verification_v3"
    committed = RESULTS / "verification_v3.json"
    for name, n in seed_rows_from_results(work, committed).items():
        print(f"seeded {n} rows of {work / name} from {committed}", file=sys.stderr)
    opts = ProtocolV3Options(max_seconds=a.max_seconds, negatives_per_source=a.negatives,
                             finetune_sources=a.finetune_sources, redo=tuple(a.redo),
                             only_redo=a.only_redo, kinds=tuple(a.kind), legacy=not a.no_v2, skip=tuple(a.skip))
    rows = (list(_done(work / "items.jsonl").values()) if a.report_only or a.timing else
            run_protocol_v3(work=work, published=zoos["published"], mini=zoos["mini"], options=opts))
    headline, current, superseded = headline_and_current(all_rows(work / "items.jsonl"))
    timing = (time_decided_pairs(work=work, published=zoos["published"], mini=zoos["mini"], max_seconds=a.max_seconds)
              if a.timing else list(_done(work / "timing.jsonl").values()))
    sources, calibration, population = select_sources(zoos["published"], zoos["mini"])
    remaining = remaining_items(sources, calibration, population, opts, rows)
    partial = len(current) < len(rows)
    summary = {**summarise_v3(headline, current_rows=current if partial else None),
               "timing": summarise_timing(timing) if timing else carried_timing(committed)}
    md = markdown_v3(summary, remaining=remaining)
    write_results("verification_v3", {**summary, "remaining_items": remaining, "items": rows,
                                      "items_superseded": superseded, "timing_items": timing}, md)
    print(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--v2", action="store_true", help="run the previous (issue 15) benchmark instead")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="v3: stop after this long (resumable)")
    ap.add_argument("--report-only", action="store_true", help="v3: rewrite the results from the cached items")
    ap.add_argument("--timing", action="store_true",
                    help="v3: time a sample of decided pairs (resumable; then rewrite the results)")
    ap.add_argument("--redo", action="append", default=[],
                    help="v3: run again the items whose key contains this text (repeat), unless run by this method")
    ap.add_argument("--only-redo", action="store_true", help="v3: run the --redo items and nothing else")
    ap.add_argument("--skip", action="append", default=[],
                    help="v3: do not run now the items whose key contains this text (repeat; e.g. finetune500: a "
                         "partial rerun leaves the fine-tuned copies, whose attacks train, for later)")
    ap.add_argument("--kind", action="append", default=[], choices=("negative", "copy-scored", "copy-calibration"),
                    help="v3: run only items of this kind (repeat; a partial run can put the negatives first)")
    ap.add_argument("--no-v2", action="store_true",
                    help="v3: skip the previous method's verdict on new items (recorded as 'not run'; it is most "
                         "of a negative's time)")
    ap.add_argument("--negatives", type=int, default=30, help="v3: independent models per source")
    ap.add_argument("--zoo", type=Path, action="append", default=None,
                    help="zoo folder (repeat); a folder named *pretrained* is the published population "
                         "(default: the published zoo and the mini zoo)")
    ap.add_argument("--attacked", type=Path, default=default_attacked_dir())
    ap.add_argument("--finetune-sources", type=int, default=6, help="sources that get fine-tuned (v2: per population)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing-pairs", type=int, default=4, help="pairs timed through verify_models (CLI path)")
    a = ap.parse_args()
    if not a.v2:
        main_v3(a)
        return
    options = VerificationOptions(finetune_sources=a.finetune_sources, threads=a.threads,
                                  timing_pairs=a.timing_pairs)
    res = run_verification_protocol(zoos=a.zoo or default_zoos(), attacked=a.attacked, options=options)
    md = verification_markdown(res)
    write_results("verification", res, md)
    print(md)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # every finished item is already on disk (one fsynced line each)
        print("interrupted: the finished items are kept under $SRPRINT_HOME/bench/verification_v3; "
              "run the same command again to resume", file=sys.stderr)
        sys.exit(130)
