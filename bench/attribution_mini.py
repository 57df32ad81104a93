"""Attribution benchmark on a render of the ``mini`` zoo: CNN vs PRNU, grouped table, seed groups,
open-set AUROC, JPEG/resize robustness, figures.

Usage::

    python bench/attribution_mini.py                    # newest $SRPRINT_HOME/renders/mini-* render
    python bench/attribution_mini.py --data RENDER --name attribution_demo_render  # another render

Writes ``bench/results/<name>.json`` / ``.md`` and copies the figures to ``bench/results/<name>/``.
Runs live under ``$SRPRINT_HOME/bench/<name>/`` and are resumed / reused on a rerun.
Targets (issue 5): CNN >= 97 %; seed groups >= 99 %; CNN >= PRNU + 30 pts; open-set AUROC >= 0.95;
accuracy drop at JPEG q=90 <= 5 pts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, classifier_config, find_mini_render, write_results  # noqa: E402
from srprint.classify.tiles import DEFAULT_TILES  # noqa: E402

# models of the mini grid kept out of training: one x2/L1 and one x4/VGG+Adv model (no seed triplet
# touched) and one adversarial model of the second training set; they are the open-set unknowns.
DEFAULT_HOLDOUT = "model_id=NLSN-bsds-x2-L1-s1|SwinIR-bsds-x4-VGG+Adv-s1|EDSR-photos-x2-ResNet+Adv-s1"


HEADLINE_ROWS = {
    "acc": "overall accuracy",
    "seed_groups": "seed groups",
    "jpeg95_drop": "drop at JPEG q=95 (pts)",
    "jpeg90_drop": "drop at JPEG q=90 (pts)",
    "jpeg75_drop": "drop at JPEG q=75 (pts)",
    "auroc_msp": "open-set AUROC (msp)",
    "auroc_distance": "open-set AUROC (distance)",
}


def headline(ev: dict[str, Any]) -> dict[str, float | None]:
    """The numbers the targets read from one CNN evaluation."""
    pert, opn = ev.get("perturb") or {}, ev.get("openset") or {}
    return {
        "acc": ev["overall_acc"],
        "seed_groups": (ev.get("seed_groups") or {}).get("mean_acc"),
        **{f"{q}_drop": (pert.get(q) or {}).get("drop") for q in ("jpeg95", "jpeg90", "jpeg75")},
        "auroc_msp": (opn.get("msp") or {}).get("auroc"),
        "auroc_distance": (opn.get("distance") or {}).get("auroc"),
    }


def fmt_headline(key: str, value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.3f}" if key.startswith("auroc") else f"{100 * value:.1f}" + ("" if "drop" in key else " %")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="Render folder (default: newest mini render)")
    ap.add_argument("--name", default="attribution_mini", help="Result file name (label other renders!)")
    ap.add_argument("--where", default="source=trained", help="Rows used for the closed-set study")
    ap.add_argument("--holdout", default=DEFAULT_HOLDOUT, help="Models held out as open-set unknowns ('' = none)")
    ap.add_argument("--backbone", default="convnext_atto")
    ap.add_argument("--input", default="dct", help="Classifier input: dct | rgb")
    ap.add_argument("--jpeg-augment", type=float, default=None, help="Share of JPEG-recompressed training images")
    ap.add_argument("--jpeg-quality-min", type=int, default=None, help="Lowest training JPEG quality")
    ap.add_argument("--dct-eps", type=float, default=None, help="Floor of the log-DCT input")
    ap.add_argument("--patience", type=int, default=None, help="Early-stop patience (epochs)")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--head-epochs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--max-per-class", type=int, default=None)
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
    args = ap.parse_args()

    from srprint.attribution.evaluate import embed_dataset, evaluate_run, tables_markdown
    from srprint.attribution.prnu import PRNUConfig, evaluate_prnu, fit_prnu
    from srprint.classify.train import train_run
    from srprint.config import config_hash, resolve_device, srprint_home
    from srprint.render.manifest import RenderedDataset

    data = args.data or find_mini_render()
    if data is None or not (Path(data) / "manifest.parquet").is_file():
        print(
            "no mini render found: run `srprint zoo train --preset mini` then `srprint render` on that zoo "
            "(or pass --data RENDER --name attribution_<label>)",
            file=sys.stderr,
        )
        return 1
    data = Path(data).resolve()
    device = resolve_device(args.device)
    ds = RenderedDataset.open(data)
    where = args.where or None
    if where:
        try:
            ds = ds.filter(where)
        except Exception:  # noqa: BLE001 - e.g. a render without a source column value 'trained'
            where = None
    holdout = args.holdout or None
    if holdout:
        from srprint.render.manifest import apply_where

        present = apply_where(ds.frame, holdout)
        if present.empty:
            print(f"holdout filter {holdout!r} matches nothing in this render: no open-set evaluation")
            holdout = None
    # unset options keep ClassifierConfig's defaults (and so the library's recipe)
    cfg = classifier_config(args, init=str(args.init.resolve()) if args.init else None)
    key = config_hash({"data": str(data), "where": where, "holdout": holdout, "cfg": cfg})
    base = srprint_home() / "bench" / args.name / key
    timings: dict[str, float] = {}

    t = time.perf_counter()
    cnn_run = train_run(data, base / "cnn", cfg, label="model_id", where=where, holdout_models=holdout, device=device)
    timings["cnn_train_s"] = time.perf_counter() - t
    cnn_centre: dict[str, Any] | None = None
    if args.tiles != 1:  # the study's centre-crop protocol, for comparison (evaluated first: the
        # run's eval_test.json then holds the main, tiled evaluation)
        t = time.perf_counter()
        cnn_centre = evaluate_run(
            cnn_run, split="test", perturb=not args.no_perturb, device=device, figures=False, tiles=1
        )
        timings["cnn_eval_centre_s"] = time.perf_counter() - t
    t = time.perf_counter()
    cnn = evaluate_run(cnn_run, split="test", perturb=not args.no_perturb, device=device, tiles=args.tiles)
    timings["cnn_eval_s"] = time.perf_counter() - t

    prnu_where = where
    if holdout:  # PRNU is fitted on the same known models as the CNN
        prnu_where = ",".join(filter(None, [where, holdout.replace("model_id=", "model_id!=", 1)]))
    t = time.perf_counter()
    prnu_crop = args.prnu_crop or args.crop
    pcfg = PRNUConfig(denoiser=args.prnu_denoiser, crop=prnu_crop, metric="euclidean")
    prnu_run = fit_prnu(data, base / "prnu", pcfg, where=prnu_where, jobs=args.jobs)
    prnu = evaluate_prnu(prnu_run, jobs=args.jobs)
    prnu_ncc = evaluate_prnu(prnu_run, metric="ncc", jobs=args.jobs, figures=False)
    prnu_by_crop: dict[int, dict[str, float]] = {}
    for c in (int(v) for v in args.prnu_extra_crops.split(",") if v.strip()):
        if c == prnu_crop:
            continue
        xcfg = PRNUConfig(denoiser=args.prnu_denoiser, crop=c, metric="euclidean")
        xrun = fit_prnu(data, base / f"prnu_{c}", xcfg, where=prnu_where, jobs=args.jobs)
        prnu_by_crop[c] = {
            m: evaluate_prnu(xrun, metric=m, jobs=args.jobs, figures=False)["overall_acc"]
            for m in ("euclidean", "ncc")
        }
    timings["prnu_s"] = time.perf_counter() - t

    embed: dict[str, Any] | None = None
    full = RenderedDataset.open(data)
    if "source" in full.frame.columns and (full.frame["source"] == "imported").any():
        embed = embed_dataset(cnn_run, data, where="source=imported", device=device, tiles=args.tiles)

    fig_dir = RESULTS / args.name
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures = {}
    for k, p in {
        **cnn.get("figures", {}),
        **{f"prnu_{k}": v for k, v in prnu.get("figures", {}).items()},
        **({"embed": embed["figure"]} if embed and embed.get("figure") else {}),
    }.items():
        dst = fig_dir / f"{k}.png"
        shutil.copyfile(p, dst)
        figures[k] = str(dst.relative_to(RESULTS.parent))

    sg = (cnn.get("seed_groups") or {}).get("mean_acc")
    sg = None if sg is None or sg != sg else sg  # NaN: no seed group in the test split
    auroc = (cnn.get("openset") or {}).get("msp", {}).get("auroc")
    auroc_d = (cnn.get("openset") or {}).get("distance", {}).get("auroc")
    best_auroc = max([a for a in (auroc, auroc_d) if a is not None], default=None)
    jpeg90 = (cnn.get("perturb") or {}).get("jpeg90", {}).get("drop")
    best_prnu = max(
        [prnu["overall_acc"], prnu_ncc["overall_acc"], *(a for v in prnu_by_crop.values() for a in v.values())]
    )
    targets = {
        "cnn_overall>=0.97": cnn["overall_acc"] >= 0.97,
        "seed_groups>=0.99": None if sg is None else sg >= 0.99,  # None: no seed group in this population
        # against the strongest PRNU variant measured (metric and crop)
        "cnn>=prnu+0.30": cnn["overall_acc"] >= best_prnu + 0.30,
        "openset_auroc>=0.95": None if best_auroc is None else best_auroc >= 0.95,
        "jpeg90_drop<=0.05": jpeg90 is not None and jpeg90 <= 0.05,
    }
    summary = {
        "tiles": args.tiles,
        "cnn_acc": cnn["overall_acc"],
        "prnu_acc": prnu["overall_acc"],
        "prnu_ncc_acc": prnu_ncc["overall_acc"],
        "prnu_best_acc": best_prnu,
        "seed_group_acc": sg,
        "prnu_seed_group_acc": (prnu.get("seed_groups") or {}).get("mean_acc"),
        "openset_auroc_msp": auroc,
        "openset_auroc_distance": auroc_d,
        "jpeg90_drop": jpeg90,
    }
    if cnn_centre is not None:
        summary["centre_crop"] = headline(cnn_centre)
    result = {
        "name": args.name,
        "data": str(data),
        "where": where,
        "holdout": holdout,
        "device": device,
        "classifier": cnn_run.name,
        "config": vars(args) | {"data": str(data)},
        "summary": summary,
        "targets": targets,
        "timings": timings,
        "cnn": cnn,
        "cnn_centre_crop": cnn_centre,
        "prnu": prnu,
        "prnu_ncc": prnu_ncc,
        "prnu_by_crop": prnu_by_crop,
        "embed": embed,
        "figures": figures,
    }
    md = [
        f"# Attribution benchmark: {args.name}",
        "",
        *([f"**{args.note}**", ""] if args.note else []),
        f"Render `{data}` ({len(full.frame)} images, {full.frame['model_id'].nunique()} models), "
        f"filter `{where}`, held out `{holdout}`; {args.backbone} crop {args.crop}, "
        f"{args.head_epochs}+{args.epochs} epochs (patience {cfg.patience}), "
        + (f"initialised from `{cfg.init}`, " if cfg.init else "")
        + f"input {args.input} (log floor {cfg.dct_eps:g}), JPEG augmentation {cfg.jpeg_augment:g} at quality "
        f"{cfg.jpeg_quality_min}-100; CNN evaluated on {args.tiles} x {args.tiles} crops per test image "
        f"(log-probabilities and features averaged); PRNU crop {prnu_crop}; device {device}.",
        "",
        "| | CNN | PRNU (euclidean) | PRNU (ncc) |",
        "|---|---:|---:|---:|",
        f"| overall | {100 * cnn['overall_acc']:.1f} % | {100 * prnu['overall_acc']:.1f} % | "
        f"{100 * prnu_ncc['overall_acc']:.1f} % |",
    ]
    if sg is not None:
        psg = (prnu.get("seed_groups") or {}).get("mean_acc") or float("nan")
        nsg = (prnu_ncc.get("seed_groups") or {}).get("mean_acc") or float("nan")
        md.append(f"| seed groups | {100 * sg:.1f} % | {100 * psg:.1f} % | {100 * nsg:.1f} % |")
    for c, accs in prnu_by_crop.items():
        md.append(
            f"| PRNU at {c} px (overall) | | {100 * accs['euclidean']:.1f} % | {100 * accs['ncc']:.1f} % |"
        )
    if cnn_centre is not None:
        centre, tiled = headline(cnn_centre), headline(cnn)
        md += [
            "",
            f"CNN scored on the centre crop only (the study's protocol) vs on {args.tiles} x {args.tiles} crops "
            "per image (same run, same weights):",
            "",
            f"| CNN | centre crop | {args.tiles} x {args.tiles} crops |",
            "|---|---:|---:|",
        ]
        for key, name in HEADLINE_ROWS.items():
            md.append(f"| {name} | {fmt_headline(key, centre[key])} | {fmt_headline(key, tiled[key])} |")
    md += [
        "",
        "Targets: "
        + ", ".join(f"{k} {'n/a' if v is None else 'met' if v else 'MISSED'}" for k, v in targets.items()),
        "",
    ]
    if not targets["cnn>=prnu+0.30"]:
        md += [
            f"The PRNU gap is measured against the strongest PRNU variant run here ({100 * best_prnu:.1f} %): "
            f"the CNN ({100 * cnn['overall_acc']:.1f} %) is {100 * (cnn['overall_acc'] - best_prnu):.1f} points "
            "ahead, and a 30-point gap would need PRNU at or below "
            f"{100 * min(1.0, cnn['overall_acc']) - 30:.1f} %.",
            "",
        ]
    md += [
        tables_markdown(cnn, "CNN"),
        tables_markdown(prnu, "PRNU (euclidean)"),
    ]
    if embed:
        md += [
            "### Unseen (imported) models",
            "",
            "| model | nearest class | share | flagged unknown |",
            "|---|---|---:|---:|",
        ]
        md += [
            f"| {m['model_id']} | {m['nearest_class']} | {100 * m['share']:.0f} % | "
            f"{100 * m['flagged_unknown']:.0f} % |"
            for m in embed["models"]
        ]
    md += [
        "",
        "Figures: " + ", ".join(f"[{k}]({Path(v).relative_to('results')})" for k, v in figures.items()),
        "",
        "Timings: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    ]
    jp, mp = write_results(args.name, result, "\n".join(md) + "\n")
    print(f"wrote {jp} and {mp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
