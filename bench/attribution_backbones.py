"""Backbone comparison (the study's Table 2) on a subset of a render, same budget for every backbone.

Usage::

    python bench/attribution_backbones.py                       # newest mini render, x4 seed-1 models
    python bench/attribution_backbones.py --data RENDER --where 'scale=4' --name attribution_backbones_demo

Every backbone gets the same crop, epochs, batch size, learning rate and per-class image cap.
Writes ``bench/results/<name>.json`` / ``.md``; runs under ``$SRPRINT_HOME/bench/<name>/`` are reused.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import classifier_config, find_mini_render, write_results  # noqa: E402

BACKBONES = ("convnext_atto", "legacy_xception", "efficientnet_b2", "resnet50")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--name", default="attribution_backbones")
    ap.add_argument("--where", default="source=trained,scale=4,seed=1", help="The subset (manifest filter)")
    ap.add_argument("--backbones", default=",".join(BACKBONES))
    ap.add_argument("--input", default="dct", help="Classifier input: dct | rgb")
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--head-epochs", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--max-per-class", type=int, default=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--note", default="", help="A line printed under the title (what this render is)")
    args = ap.parse_args()

    from srprint.attribution.evaluate import evaluate_run
    from srprint.classify.backbones import create_backbone
    from srprint.classify.train import train_run
    from srprint.config import config_hash, resolve_device, srprint_home
    from srprint.render.manifest import RenderedDataset

    data = args.data or find_mini_render()
    if data is None:
        print("no mini render found (pass --data RENDER --name attribution_backbones_<label>)", file=sys.stderr)
        return 1
    data = Path(data).resolve()
    device = resolve_device(args.device)
    ds = RenderedDataset.open(data, where=args.where)
    rows, per = [], {}
    for bb in args.backbones.split(","):
        cfg = classifier_config(args, backbone=bb, patience=args.epochs)  # same budget: no early stop
        out = srprint_home() / "bench" / args.name / config_hash({"data": str(data), "where": args.where, "cfg": cfg})
        t = time.perf_counter()
        run = train_run(data, out, cfg, where=args.where, device=device)
        train_s = time.perf_counter() - t
        res = evaluate_run(run, device=device, figures=False)
        params = sum(p.numel() for p in create_backbone(bb, 2).parameters())
        rows.append(
            {
                "backbone": bb,
                "params_m": params / 1e6,
                "test_acc": res["overall_acc"],
                "seed_group_acc": (res.get("seed_groups") or {}).get("mean_acc"),
                "train_s": train_s,
                "run": str(run),
            }
        )
        per[bb] = res
        print(f"{bb}: {100 * res['overall_acc']:.1f} % ({train_s:.0f}s)")
        _write(args, data, ds, device, rows, per)  # after every backbone: partial results survive a kill
    return 0


def _write(
    args: argparse.Namespace,
    data: Path,
    ds: Any,
    device: str,
    rows: list[dict[str, Any]],
    per: dict[str, Any],
) -> None:
    n_models = ds.frame["model_id"].nunique()
    md = [
        f"# Backbone comparison: {args.name}",
        "",
        f"Render `{data}`, subset `{args.where}` ({n_models} models, {len(ds.frame)} images); input {args.input}, "
        f"crop {args.crop}, "
        f"{args.head_epochs}+{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, "
        f"<= {args.max_per_class} train images per model; device {device}. Chance {100 / n_models:.1f} %.",
        "",
        *([f"**{args.note}**", ""] if args.note else []),
        "| backbone | params (M) | test accuracy | train time (s) |",
        "|---|---:|---:|---:|",
    ]
    md += [
        f"| {r['backbone']} | {r['params_m']:.1f} | {100 * r['test_acc']:.1f} % | {r['train_s']:.0f} |" for r in rows
    ]
    write_results(
        args.name,
        {"config": vars(args) | {"data": str(data)}, "rows": rows, "per_backbone": per},
        "\n".join(md) + "\n",
    )


if __name__ == "__main__":
    sys.exit(main())
