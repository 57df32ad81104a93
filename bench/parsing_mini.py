"""Parsing benchmark on the ``mini`` render: held-out parser table, FEN+PN vs baselines, imported models.

Usage::

    python bench/parsing_mini.py --data RENDER [--profile cpu|gpu|smoke] [--device auto] [--name parsing_mini]

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
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import find_mini_render, write_results  # noqa: E402
from srprint.classify.tiles import DEFAULT_TILES  # noqa: E402

# engine + FEN settings per profile ("gpu": the study's recipe; "cpu": small; "smoke": seconds per cell)
PROFILES: dict[str, dict[str, Any]] = {
    "gpu": {
        "engine": {
            "backbone": "convnext_atto",
            "crop": 128,
            "batch_size": 32,
            "head_epochs": 3,
            "full_epochs": 15,
            "patience": 3,
        },
        "fen": {"crop": 128, "fen_depth": 15, "fen_width": 64, "pn_width": 32, "epochs": 15, "batch_size": 32},
        "folds": 3,
        "shuffles": 3,
    },
    "cpu": {
        "engine": {
            "backbone": "convnext_atto",
            "crop": 64,
            "batch_size": 16,
            "head_epochs": 0,  # from scratch: a head on random features learns nothing useful
            "full_epochs": 4,
            "patience": 2,
            # 4 epochs are too short for the library's 90 %-JPEG default; the session-2 table used these
            "jpeg_augment": 0.5,
            "jpeg_quality_min": 65,
            "max_per_class": 150,
        },
        "fen": {
            "crop": 64,
            "fen_depth": 6,
            "fen_width": 32,
            "pn_width": 16,
            "epochs": 6,
            "batch_size": 16,
            "max_per_model": 40,
        },
        "folds": 3,
        "shuffles": 3,
    },
    "smoke": {
        "engine": {
            "backbone": "test_convnext",
            "crop": 32,
            "batch_size": 16,
            "head_epochs": 1,
            "full_epochs": 2,
            "patience": 2,
            "max_per_class": 100,
        },
        "fen": {
            "crop": 32,
            "fen_depth": 2,
            "fen_width": 8,
            "pn_width": 8,
            "epochs": 2,
            "batch_size": 16,
            "max_per_model": 10,
        },
        "folds": 2,
        "shuffles": 1,
    },
}
TARGETS = {"scale_arch_heldout": 0.99, "imported_scale": 0.95, "imported_loss_family": 0.90}


def fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def crossfit_dir(work: Path, protocol: str, per_model: int) -> Path:
    return work / f"crossfit-{protocol}-pm{per_model}"


def crossfit_markdown(
    results: dict[str, Any], work: Path, protocols: dict[str, int], tiles: int = 1
) -> list[str]:
    """Section 3b: the scale / loss-family summary of each imported-model protocol, then the per-model tables."""
    md = [
        "## 3b. Scale and loss family of imported models: zoo-only vs zoo + other imported families",
        "",
        "Both protocols train a scale parser and a pixel-vs-adversarial parser with the same budget and every "
        f"model weighted alike ({results[f'imported_{next(iter(protocols))}']['per_model']} training images per "
        "model, capped at the train-split images a model has). "
        "*zoo-only*: trained on the mini zoo, as in the study. *family-out*: trained on the mini zoo plus the "
        "imported checkpoints, each imported model predicted by the fold whose parsers never saw its family.",
        "",
        "Accuracy per image, and per model by majority vote over its 142 images (ties count as wrong). "
        f"Each image is scored on {tiles} x {tiles} crops (log-probabilities averaged)"
        + (", and, for comparison, on its centre crop only (the study's protocol; same runs)." if tiles != 1 else "."),
        "",
        "| protocol | crops per image | test families per fold | scale: images % | scale: models % "
        "| pixel-vs-adv.: images % | pixel-vs-adv.: models % |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(name, "") for name in sorted(protocols, reverse=True)]
    if tiles != 1:
        rows = [(name, sfx) for name in sorted(protocols, reverse=True) for sfx in ("_centre", "")]
    for name, sfx in rows:
        r = results[f"imported_{name}{sfx}"]
        s = r["summary"]
        t = r.get("tiles", 1)
        crops = "centre" if t == 1 else f"{t} x {t}"
        folds = " / ".join(", ".join(f) for f in r["folds"]) if len(r["folds"]) > 1 else "(all)"
        md.append(
            f"| {name} | {crops} | {folds} | {fmt(s['scale_accuracy'], True)} of {s['scale_images']} | "
            f"{fmt(s['scale_model_accuracy'], True)} of {s['scale_models']} | "
            f"{fmt(s['loss_family_accuracy'], True)} of {s['loss_family_images']} | "
            f"{fmt(s['loss_family_model_accuracy'], True)} of {s['loss_family_models']} |"
        )
    md.append("")
    for name in sorted(protocols, reverse=True):
        per_model = results[f"imported_{name}"]["per_model"]
        md += [f"### {name}", "", (crossfit_dir(work, name, per_model) / "crossfit.md").read_text(), ""]
    return md


def _section(title: str, table: Path) -> list[str]:
    """Markdown lines of a report section: its title, then the table a command wrote."""
    return [title, "", table.read_text(), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="cpu")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--name", default="parsing_mini")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--note", default="", help="A line added under the title (e.g. what the render is)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["table", "fen", "imported", "imported_table"])
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

    from srprint.classify.run_folder import ClassifierConfig
    from srprint.config import resolve_device, srprint_home
    from srprint.parsing.archstats import zoo_label_table
    from srprint.parsing.crossfamily import imported_crossfit
    from srprint.parsing.fenpn_eval import run_fen_cv
    from srprint.parsing.fenpn_train import train_fen_pn
    from srprint.parsing.heldout import parse_table
    from srprint.parsing.imported import imported_table
    from srprint.parsing.pn import FenPnConfig
    from srprint.parsing.schema import zoo_schema
    from srprint.render.manifest import RenderedDataset

    data = args.data or find_mini_render()
    if data is None:
        raise SystemExit("no mini render found: pass --data RENDER (srprint render --zoo <mini zoo> ...)")
    device = resolve_device(args.device)
    prof = dict(PROFILES[args.profile])
    if args.folds:
        prof["folds"] = args.folds
    if args.shuffles:
        prof["shuffles"] = args.shuffles
    if args.fen_epochs:
        prof["fen"] = {**prof["fen"], "epochs": args.fen_epochs}
    if args.max_per_class:
        prof["engine"] = {**prof["engine"], "max_per_class": args.max_per_class}
    work = args.work or srprint_home() / "bench" / args.name
    ds = RenderedDataset.open(data, where=args.where)
    ecfg = ClassifierConfig(**prof["engine"])
    fcfg = FenPnConfig(**prof["fen"])
    results: dict[str, Any] = {
        "data": str(data),
        "profile": args.profile,
        "device": device,
        "engine_config": prof["engine"],
        "fen_config": prof["fen"],
        "fen_cv_folds": prof["folds"],
        "fen_cv_shuffles": prof["shuffles"],
        "n_models": int(ds.frame["model_id"].nunique()),
        "n_images": len(ds.frame),
        "timings_s": {},
    }
    md: list[str] = [
        f"# Parsing benchmark ({args.name}, profile {args.profile})",
        "",
        f"Render: `{data}` ({results['n_models']} classes incl. HR, {len(ds.frame)} images); device {device}.",
        "",
    ]
    if args.note:
        md += [f"**{args.note}**", ""]
        results["note"] = args.note

    if "table" not in args.skip:
        t0 = time.time()
        targets = tuple(args.targets.split(","))
        table = parse_table(data, work / "table", ecfg, device=device, targets=targets, where=args.where,
                            tiles=args.tiles)
        results["timings_s"]["table"] = time.time() - t0
        results["heldout_table"] = table
        md += ["## 1. Held-out parsers (study's Table 5 alongside)", "", (work / "table" / "table.md").read_text(), ""]
        arch_cells = [
            c
            for c in table["cells"]
            if c["target"] == "scale" and c["holdout"].startswith("arch=") and c["status"] == "done"
        ]
        if arch_cells:
            worst = min(c["accuracy"] for c in arch_cells)
            results["target_scale_arch_heldout"] = {
                "min_accuracy": worst,
                "target": TARGETS["scale_arch_heldout"],
                "met": worst >= TARGETS["scale_arch_heldout"],
            }

    if "fen" not in args.skip:
        t0 = time.time()
        labels = zoo_label_table(frame=ds.frame[ds.frame["source"] == "trained"])
        schema = zoo_schema(labels)
        cv = run_fen_cv(
            ds.root,
            ds.frame,
            labels,
            schema=schema,
            out=work / "fen_cv",
            cfg=fcfg,
            n_folds=prof["folds"],
            n_shuffles=prof["shuffles"],
            device=device,
        )
        full = train_fen_pn(
            ds.root, ds.frame, labels, schema=schema, train_models=sorted(labels["model_id"]), out=work / "fen_all",
            cfg=fcfg, device=device, quiet=True
        )
        results["timings_s"]["fen"] = time.time() - t0
        results["fen_cv"] = {k: v["mean"] for k, v in cv["variants"].items()}
        results["fen_schema"] = schema.to_dict()
        results["fen_all_run"] = str(full)
        means = results["fen_cv"]
        better = {}
        for n in ("1", "10", "100"):
            f = means["fen"][n]
            for base in ("nofp", "randomgt"):
                b = means[base][n]
                better[f"{n}/{base}"] = {
                    "l1": f["l1"] < b["l1"],
                    "f1_discrete": f["f1_discrete"] > b["f1_discrete"],
                    "f1_coarse": f["f1_coarse"] > b["f1_coarse"],
                    "f1_fine": f["f1_fine"] > b["f1_fine"],
                }
        results["fen_better_than_baselines"] = better
        md += _section("## 2. FEN+PN vs baselines (leave-models-out CV, mean over folds)", work / "fen_cv" / "cv.md")
        md += [
            "Continuous targets (min-max normalised): " + ", ".join(t.name for t in schema.continuous) + "; "
            "discrete: " + ", ".join(t.name for t in schema.discrete if not t.hierarchy) + "; loss hierarchical "
            "(pixel {L1} vs adversarial {VGG+Adv, ResNet+Adv}).",
            "",
        ]
        wins = sum(all(v.values()) for v in better.values())
        md += [
            f"FEN+PN better than the baseline on every metric in {wins} of {len(better)} "
            "(aggregation x baseline) comparisons.",
            "",
        ]
        losses = [
            f"{k} ({', '.join(m for m, ok in v.items() if not ok)})" for k, v in better.items() if not all(v.values())
        ]
        if losses:
            md += ["Not better in (images/baseline: metrics): " + "; ".join(losses) + ".", ""]
        results["target_fen_better_than_baselines"] = {"comparisons_won": wins, "of": len(better),
                                                       "met": wins == len(better)}

    if "imported" not in args.skip and (ds.frame["source"] == "imported").any():
        if "imported_table" not in args.skip:
            t0 = time.time()
            imp = imported_table(data, work / "imported", ecfg, device=device, split="all", tiles=args.tiles)
            results["timings_s"]["imported"] = time.time() - t0
            results["imported"] = imp
            md += _section("## 3. Parsers trained on the whole zoo, applied to imported models (Figure 6)",
                           work / "imported" / "imported.md")
        # same budget, every model weighted alike: zoo-only vs zoo + the other imported families
        protocols = {"family_out": args.crossfit_folds, "zoo_only": 0} if args.crossfit_folds else {"zoo_only": 0}
        protocols = {k: v for k, v in protocols.items() if k in args.crossfit_protocols.split(",")}
        for name, folds in protocols.items():
            # centre crop first, so the run folder's crossfit.md ends up holding the tiled scores
            for sfx, tiles in ([("_centre", 1)] if args.tiles != 1 else []) + [("", args.tiles)]:
                t0 = time.time()
                results[f"imported_{name}{sfx}"] = imported_crossfit(
                    data, crossfit_dir(work, name, args.crossfit_per_model), ecfg, device=device, folds=folds,
                    per_model=args.crossfit_per_model, tiles=tiles,
                )
                results["timings_s"][f"imported_{name}{sfx}"] = time.time() - t0
        md += crossfit_markdown(results, work, protocols, args.tiles)
        best = max(
            (results[f"imported_{n}"]["summary"] for n in protocols),
            key=lambda s: (s["scale_accuracy"] or 0) + (s["loss_family_accuracy"] or 0),
        )
        results["target_imported"] = {
            "protocol": "family_out" if best is results.get("imported_family_out", {}).get("summary") else "zoo_only",
            "scale_accuracy": best["scale_accuracy"],
            "scale_met": (best["scale_accuracy"] or 0) >= TARGETS["imported_scale"],
            "loss_family_accuracy": best["loss_family_accuracy"],
            "loss_family_met": (best["loss_family_accuracy"] or 0) >= TARGETS["imported_loss_family"],
            # reported, not scored: the targets are read per image (the stricter reading)
            "scale_model_accuracy": best["scale_model_accuracy"],
            "loss_family_model_accuracy": best["loss_family_model_accuracy"],
        }

    md += ["## Targets", ""]
    for key in ("target_scale_arch_heldout", "target_imported", "target_fen_better_than_baselines"):
        if key in results:
            md.append(f"- {key}: `{results[key]}`")
    md.append("")
    jp, mp = write_results(args.name, results, "\n".join(md))
    print(f"wrote {jp} and {mp}")


if __name__ == "__main__":
    main()
