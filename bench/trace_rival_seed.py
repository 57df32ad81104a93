"""Seed the trace's JPEG calibration cache from ``trace_rival_dev`` rows (issue 27, JPEG method 8): CPU saved.

A ``cal`` row of ``bench/trace_rival_dev.py`` holds, for calibration photo crop ``k`` made by one model and
compressed by Pillow at one quality, the statistic of every candidate: exactly the value
:func:`srprint.attribution.jpeg_decide.jpeg_calibration` computes for that crop under the default settings at
the x2 window (checked: ESPCN on FSRCNN's outputs of crops 0-2 at q 75, recomputed by ``jpeg_calibration``,
equal to the last digit). This writes, for each quality with rows for the first ``n_jpeg_calibration`` crops,
each candidate's *own* null and its *rival* nulls (every order of every subset of two or more of the other
models, since the cache key names the rivals in order) where :func:`~.jpeg_decide.calibration_path` looks for
them. The photo null (crops no model made) is not in the rows: ``--photo`` computes it with the trace's own
code (cached where the trace looks for it), for the dev evaluation's verdicts (``trace_rival_eval.py``).
"""

from __future__ import annotations

import json
import sys
from itertools import permutations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import jpeg_round_trip  # noqa: E402
from trace_rival_dev import ITEMS, QUALITIES  # noqa: E402


def main() -> None:
    from srprint.attribution.jpeg_decide import calibration_path
    from srprint.attribution.trace import TraceSettings
    from srprint.io.atomic import atomic_write_json
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    rows = {(r["image"], r["maker"], r["condition"]): r
            for r in map(json.loads, ITEMS.read_text().splitlines()) if r["kind"] == "cal"}
    settings = TraceSettings()
    side, n = settings.jpeg_window(2), settings.n_jpeg_calibration
    by_id = {e.id: e for e in Zoo(pretrained_zoo_dir()).entries()}
    models = sorted({m for _, m, _ in rows})
    written = 0
    for cond in ("q75", "q90"):  # a double JPEG's tables are its last compression's (q 75)
        if not all((str(k), m, cond) in rows for k in range(n) for m in models):
            continue
        info, _ = jpeg_round_trip(np.full((16, 16, 3), 128, np.uint8), QUALITIES[cond])
        for c in models:
            own = [rows[(str(k), c, cond)]["s"][c] for k in range(n)]
            path = calibration_path(by_id[c], info, side, settings, own=True)
            atomic_write_json(path, {"model": c, "own": True, "rivals": [], "statistics": own, "seeded": ITEMS.name})
            written += 1
            others = [m for m in models if m != c]
            for size in range(1, len(others) + 1):
                for rv in permutations(others, size):
                    vals = [rows[(str(k), d, cond)]["s"][c] for k in range(n) for d in rv]
                    path = calibration_path(by_id[c], info, side, settings, rivals=[by_id[d] for d in rv])
                    atomic_write_json(path, {"model": c, "own": False, "rivals": list(rv), "statistics": vals,
                                             "seeded": ITEMS.name})
                    written += 1
    print(f"{written} calibrations written")
    if "--photo" in sys.argv:  # the photo nulls, computed (and cached) by the trace's own code
        import torch

        from srprint.attribution.jpeg_decide import jpeg_calibration
        from srprint.verification.fingerprint import load_entry_model

        torch.set_num_threads(1)
        for cond in ("q75", "q90"):
            info, _ = jpeg_round_trip(np.full((16, 16, 3), 128, np.uint8), QUALITIES[cond])
            for c in models:
                vals = jpeg_calibration(by_id[c], load_entry_model(by_id[c]), info, side, settings)
                print(cond, c, [round(v, 4) for v in vals], flush=True)


if __name__ == "__main__":
    main()
