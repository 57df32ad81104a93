"""Dev check of verification v3.5's shared-channel comparison, on data the v3 benchmark never scores.

The calibration sources (the mini zoo's ``{ARCH}-bsds-x4-L1-s1``) get edits the benchmark does not use:
widening followed by 4-bit quantisation, 4-bit quantisation alone, and channel pruning without recovery.
For each, the lineage statistic ``S`` against the source with v3.5's comparison and with the shared-channel
step switched off (``alignment.narrowed`` returning None: v3.3's layer comparison; v3.5 cuts only a widened
layer, so a channel-pruned copy, narrower than its source, gets the same S under both). Copies go to
``$SRPRINT_HOME/bench/verification_v34_dev``. Writes bench/results/verification_dev.{json,md}.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402

EDITS = (("widen+int4", (("widen", {"extra": 4}), ("quantize", {"bits": 4}))),
         ("int4", (("quantize", {"bits": 4}),)),
         ("prune-channels10", (("prune-channels", {"percent": 10.0, "recover": 0}),)))


def main() -> None:
    import torch

    from srprint.config import srprint_home
    from srprint.errors import SrprintError
    from srprint.verification import alignment
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.lineage import capture_model
    from srprint.verification.protocol import default_zoos, make_copy
    from srprint.verification.protocol_v3 import select_sources

    torch.set_num_threads(1)
    zoos = default_zoos()
    _, calibration, _ = select_sources(zoos["published"], zoos["mini"])
    work = srprint_home() / "bench" / "verification_v34_dev"
    rows = []
    for src in calibration:
        ca = capture_model(load_entry_model(src))
        for tag, steps in EDITS:
            try:
                copy = make_copy(src, steps, work, tag=tag)
            except SrprintError as exc:  # prune-channels needs a traceable conv -> act -> conv chain
                rows.append({"source": src.id, "edit": tag, "error": str(exc).splitlines()[0][:120]})
                continue
            cb = capture_model(load_entry_model(copy))
            s_v35 = alignment.compare_aligned(ca, cb).similarity
            with mock.patch.object(alignment, "narrowed", lambda la, lb: None):
                s_off = alignment.compare_aligned(ca, cb).similarity
            rows.append({"source": src.id, "edit": tag, "psnr_change": (copy.metrics or {}).get("psnr_change"),
                         "s_v35": s_v35, "s_without_shared_channels": s_off})
            print(rows[-1], flush=True)
    md = ["# Verification v3.5 dev check: shared-channel comparison on never-scored sources", "",
          "Calibration sources of the v3 benchmark (never scored), edits the benchmark does not use. S is the "
          "lineage statistic against the source.", "",
          "| source | edit | PSNR change (dB) | S without shared channels | S v3.5 |", "|---|---|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            md.append(f"| {r['source']} | {r['edit']} | - | not made: {r['error']} | - |")
        else:
            md.append(f"| {r['source']} | {r['edit']} | {r['psnr_change']:+.2f} | {r['s_without_shared_channels']:.4f}"
                      f" | {r['s_v35']:.4f} |")
    write_results("verification_dev", {"data": "copies of the mini zoo's {ARCH}-bsds-x4-L1-s1 (never scored)",
                                       "rows": rows}, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
