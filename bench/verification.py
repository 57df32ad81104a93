"""Benchmark of ownership verification by parameter lineage (issue 15).

The protocol (sources, copies, negatives, nulls, the calibrated copy band) is
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
from _common import write_results  # noqa: E402
from srprint.verification.protocol import (  # noqa: E402
    VerificationOptions,
    default_attacked_dir,
    default_zoos,
    run_verification_protocol,
    verification_markdown,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--zoo", type=Path, action="append", default=None,
                    help="zoo folder (repeat); a folder named *pretrained* is the published population "
                         "(default: the published zoo and the mini zoo)")
    ap.add_argument("--attacked", type=Path, default=default_attacked_dir())
    ap.add_argument("--finetune-sources", type=int, default=3, help="sources per population that get fine-tuned")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing-pairs", type=int, default=4, help="pairs timed through verify_models (CLI path)")
    a = ap.parse_args()
    options = VerificationOptions(finetune_sources=a.finetune_sources, threads=a.threads,
                                  timing_pairs=a.timing_pairs)
    res = run_verification_protocol(zoos=a.zoo or default_zoos(), attacked=a.attacked, options=options)
    md = verification_markdown(res)
    write_results("verification", res, md)
    print(md)


if __name__ == "__main__":
    main()
