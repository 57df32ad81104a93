"""Acceptance 4 of the zoo issue: a tiny model of each arch, trained a few hundred iterations, beats bicubic.

Trains (or reuses from the cached ``mini`` zoo) ``{ARCH}-bsds-x{2,4}-L1-s1`` with the mini training config
and reports Y-PSNR / SSIM on Set5 and Set14 (never trained on) against bicubic.

    python bench/zoo_quality.py [--zoo DIR] [--iters N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402
from srprint.zoo.api import preset_train_config, train_specs  # noqa: E402
from srprint.zoo.entry import default_zoo_dir  # noqa: E402
from srprint.zoo.study import quality_specs, zoo_quality  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, default=default_zoo_dir("mini"))
    ap.add_argument("--iters", type=int, default=None, help="default: the mini preset's")
    args = ap.parse_args()
    cfg = preset_train_config("mini", iters=args.iters)
    specs = quality_specs()
    res = train_specs(specs, args.zoo, cfg)
    bad = [r for r in res if not r.ok]
    if bad:
        raise SystemExit(f"training failed: {bad[0].job}: {bad[0].error}")
    result, md = zoo_quality(args.zoo, specs)
    result["config"] = {"iters": cfg.iters, "batch": cfg.batch_size, "hr_patch": cfg.hr_patch, "lr": cfg.lr}
    jp, mp = write_results("zoo_quality", result, md)
    print(f"wrote {jp} and {mp}")


if __name__ == "__main__":
    main()
