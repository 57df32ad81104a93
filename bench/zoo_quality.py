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
from srprint.config import shared_data_dir  # noqa: E402
from srprint.io.images import list_images, read_image  # noqa: E402
from srprint.zoo.api import preset_train_config, train_specs  # noqa: E402
from srprint.zoo.entry import Zoo, default_zoo_dir  # noqa: E402
from srprint.zoo.model import load_model  # noqa: E402
from srprint.zoo.quality import evaluate_sr  # noqa: E402
from srprint.zoo.specs import ARCHS, ModelSpec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, default=default_zoo_dir("mini"))
    ap.add_argument("--iters", type=int, default=None, help="default: the mini preset's")
    args = ap.parse_args()
    cfg = preset_train_config("mini", iters=args.iters)
    specs = [ModelSpec(a, "bsds", s, "L1", 1) for a in ARCHS for s in (2, 4)]
    res = train_specs(specs, args.zoo, cfg)
    bad = [r for r in res if not r.ok]
    if bad:
        raise SystemExit(f"training failed: {bad[0].job}: {bad[0].error}")
    sets = {name: [(f.stem, read_image(f)) for f in list_images(shared_data_dir() / "images" / name)]
            for name in ("Set5", "Set14")}
    rows = []
    for s in specs:
        entry = Zoo(args.zoo).get(s.id)
        model = load_model(entry)
        row = {"id": s.id, "arch": s.arch, "scale": s.scale, "iters": entry.iterations,
               "params": entry.train.get("n_params"), "train_seconds": entry.timings.get("train_seconds")}
        for name, imgs in sets.items():
            m = evaluate_sr(model, imgs)
            row[name] = {k: round(m[k], 4) for k in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim", "psnr_gain")}
        row["beats_bicubic"] = all(row[n]["psnr_gain"] > 0 for n in sets)
        rows.append(row)
        print(f"{s.id:28s} Set5 {row['Set5']['psnr']:.2f} (bic {row['Set5']['bicubic_psnr']:.2f})  "
              f"Set14 {row['Set14']['psnr']:.2f} (bic {row['Set14']['bicubic_psnr']:.2f})", flush=True)
    md = ["# Zoo quality: tiny models vs bicubic (Y-PSNR dB / SSIM, border = scale)", "",
          f"Mini training config: {cfg.iters} iterations, batch {cfg.batch_size}, HR patch {cfg.hr_patch}, "
          f"Adam lr {cfg.lr}, trained on `bsds` (BSDS500 train+test). Evaluated on Set5 and Set14 with srprint's "
          "bicubic LR.", "",
          "| model | params | Set5 PSNR | bicubic | gain | Set14 PSNR | bicubic | gain | SSIM Set5 (bic) "
          "| beats bicubic |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b = r["Set5"], r["Set14"]
        md.append(f"| {r['id']} | {r['params']:,} | {a['psnr']:.2f} | {a['bicubic_psnr']:.2f} "
                  f"| {a['psnr_gain']:+.2f} | "
                  f"{b['psnr']:.2f} | {b['bicubic_psnr']:.2f} | {b['psnr_gain']:+.2f} | "
                  f"{a['ssim']:.4f} ({a['bicubic_ssim']:.4f}) | {'yes' if r['beats_bicubic'] else 'NO'} |")
    n_ok = sum(r["beats_bicubic"] for r in rows)
    md += ["", f"**{n_ok} / {len(rows)} models beat bicubic on both sets.**", ""]
    jp, mp = write_results("zoo_quality", {"config": {"iters": cfg.iters, "batch": cfg.batch_size,
                                                      "hr_patch": cfg.hr_patch, "lr": cfg.lr}, "rows": rows},
                           "\n".join(md))
    print(f"wrote {jp} and {mp}")


if __name__ == "__main__":
    main()
