"""The sections of the parsing benchmark protocol (:mod:`srprint.parsing.protocol`).

Each section runs its library functions under the protocol's work folder, adds its numbers to the
result dict it is given and returns its Markdown lines. Kept apart from the protocol's options and
stage so that neither file grows past the size the house rules allow.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import ParsingProtocol

# the accuracy targets (not the parser targets of heldout.TARGETS)
TARGETS = {"scale_arch_heldout": 0.99, "imported_scale": 0.95, "imported_loss_family": 0.90}
CROSSFIT_PROTOCOLS = ("family_out", "zoo_only")


def table_section(data: str | Path, work: Path, ecfg: Any, *, protocol: ParsingProtocol, device: str,
                  results: dict[str, Any]) -> list[str]:
    """Section 1: the held-out parser table (runs in ``work/table``); fills ``results``.

    Parameters
    ----------
    data : str or Path
        The render.
    work : Path
        The protocol's work folder.
    ecfg : ClassifierConfig
        Engine settings of every parser.
    protocol : ParsingProtocol
        Targets, manifest filter and tiles.
    device : str
        Torch device.
    results : dict
        Gets ``heldout_table``, ``target_scale_arch_heldout`` and the section's timing.

    Returns
    -------
    list of str
        Markdown: the heading and the held-out table (``work/table/table.md``).

    Raises
    ------
    HoldoutError
        If no held-out value applies to the render, or a target is unknown.
    """
    from .heldout import parse_table

    t0 = time.perf_counter()
    table = parse_table(data, work / "table", ecfg, device=device, targets=tuple(protocol.targets),
                        where=protocol.where, tiles=protocol.tiles)
    results["timings_s"]["table"] = time.perf_counter() - t0
    results["heldout_table"] = table
    arch_cells = [c for c in table["cells"]
                  if c["target"] == "scale" and c["holdout"].startswith("arch=") and c["status"] == "done"]
    if arch_cells:
        worst = min(c["accuracy"] for c in arch_cells)
        results["target_scale_arch_heldout"] = {"min_accuracy": worst, "target": TARGETS["scale_arch_heldout"],
                                                "met": worst >= TARGETS["scale_arch_heldout"]}
    return _section("## 1. Held-out parsers (study's Table 5 alongside)", work / "table" / "table.md")


def fen_section(ds: Any, work: Path, fcfg: Any, *, prof: dict[str, Any], device: str,
                results: dict[str, Any]) -> list[str]:
    """Section 2: FEN+PN vs its baselines (CV, ``work/fen_cv``) plus one FEN+PN on every model (``work/fen_all``).

    Parameters
    ----------
    ds : RenderedDataset
        The render (already filtered by the protocol's ``where``).
    work : Path
        The protocol's work folder.
    fcfg : FenPnConfig
        FEN+PN settings.
    prof : dict
        The profile's settings (``folds``, ``shuffles``).
    device : str
        Torch device.
    results : dict
        Gets ``fen_cv``, ``fen_schema``, ``fen_all_run``, ``fen_better_than_baselines``,
        ``target_fen_better_than_baselines`` and the section's timing.

    Returns
    -------
    list of str
        Markdown: the heading, the cross-validated table, the targets and the comparisons won.

    Raises
    ------
    SrprintError
        If the render has too few trained models for the folds, or a run folder holds another run.
    """
    from .archstats import zoo_label_table
    from .fenpn_eval import run_fen_cv
    from .fenpn_train import train_fen_pn
    from .schema import zoo_schema

    t0 = time.perf_counter()
    labels = zoo_label_table(frame=ds.frame[ds.frame["source"] == "trained"])
    schema = zoo_schema(labels)
    cv = run_fen_cv(ds.root, ds.frame, labels, schema=schema, out=work / "fen_cv", cfg=fcfg,
                    n_folds=prof["folds"], n_shuffles=prof["shuffles"], device=device)
    full = train_fen_pn(ds.root, ds.frame, labels, schema=schema, train_models=sorted(labels["model_id"]),
                        out=work / "fen_all", cfg=fcfg, device=device, quiet=True)
    results["timings_s"]["fen"] = time.perf_counter() - t0
    means = results["fen_cv"] = {k: v["mean"] for k, v in cv["variants"].items()}
    results["fen_schema"] = schema.to_dict()
    results["fen_all_run"] = str(full)
    better = {}
    for n in ("1", "10", "100"):
        f = means["fen"][n]
        for base in ("nofp", "randomgt"):
            b = means[base][n]
            better[f"{n}/{base}"] = {
                "l1": f["l1"] < b["l1"],  # lower is better for L1 only
                "f1_discrete": f["f1_discrete"] > b["f1_discrete"],
                "f1_coarse": f["f1_coarse"] > b["f1_coarse"],
                "f1_fine": f["f1_fine"] > b["f1_fine"],
            }
    results["fen_better_than_baselines"] = better
    md = _section("## 2. FEN+PN vs baselines (leave-models-out CV, mean over folds)", work / "fen_cv" / "cv.md")
    md += [
        "Continuous targets (min-max normalised): " + ", ".join(t.name for t in schema.continuous) + "; "
        "discrete: " + ", ".join(t.name for t in schema.discrete if not t.hierarchy) + "; loss hierarchical "
        "(pixel {L1} vs adversarial {VGG+Adv, ResNet+Adv}).",
        "",
    ]
    wins = sum(all(v.values()) for v in better.values())
    md += [f"FEN+PN better than the baseline on every metric in {wins} of {len(better)} "
           "(aggregation x baseline) comparisons.", ""]
    losses = [f"{k} ({', '.join(m for m, ok in v.items() if not ok)})" for k, v in better.items()
              if not all(v.values())]
    if losses:
        md += ["Not better in (images/baseline: metrics): " + "; ".join(losses) + ".", ""]
    results["target_fen_better_than_baselines"] = {"comparisons_won": wins, "of": len(better),
                                                   "met": wins == len(better)}
    return md


def imported_section(data: str | Path, work: Path, ecfg: Any, *, protocol: ParsingProtocol, device: str,
                     results: dict[str, Any]) -> list[str]:
    """Section 3: the Figure 6 table (``work/imported``), then the zoo-only / family-out parsers.

    Parameters
    ----------
    data : str or Path
        The render (with imported models).
    work : Path
        The protocol's work folder.
    ecfg : ClassifierConfig
        Engine settings of every parser.
    protocol : ParsingProtocol
        Which tables, cross-fit folds, per-model budget and tiles.
    device : str
        Torch device.
    results : dict
        Gets ``imported``, ``imported_<protocol>[_centre]``, ``target_imported`` and the timings.

    Returns
    -------
    list of str
        The section's Markdown lines (none when no table was asked for).

    Raises
    ------
    HoldoutError
        If the imported families cannot fill ``crossfit_folds`` folds.
    """
    from .crossfamily import imported_crossfit
    from .imported import imported_table

    md: list[str] = []
    if "imported_table" in protocol.sections:
        t0 = time.perf_counter()
        imp = imported_table(data, work / "imported", ecfg, device=device, split="all", tiles=protocol.tiles)
        results["timings_s"]["imported"] = time.perf_counter() - t0
        results["imported"] = imp
        md += _section("## 3. Parsers trained on the whole zoo, applied to imported models (Figure 6)",
                       work / "imported" / "imported.md")
    # same budget, every model weighted alike: zoo-only vs zoo + the other imported families
    folds_of = {"family_out": protocol.crossfit_folds, "zoo_only": 0}
    protocols = {k: folds_of[k] for k in CROSSFIT_PROTOCOLS
                 if k in protocol.crossfit_protocols and (k != "family_out" or protocol.crossfit_folds)}
    if not protocols:  # only the Figure 6 table was asked for
        return md
    per_model = protocol.crossfit_per_model
    for pname, folds in protocols.items():
        # centre crop first, so the run folder's crossfit.md ends up holding the tiled scores
        for sfx, tiles in ([("_centre", 1)] if protocol.tiles != 1 else []) + [("", protocol.tiles)]:
            t0 = time.perf_counter()
            results[f"imported_{pname}{sfx}"] = imported_crossfit(
                data, _crossfit_dir(work, pname, per_model), ecfg, device=device, folds=folds,
                per_model=per_model, tiles=tiles,
            )
            results["timings_s"][f"imported_{pname}{sfx}"] = time.perf_counter() - t0
    md += _crossfit_markdown(results, work, protocols, protocol.tiles)
    best_name = max(protocols, key=lambda n: (results[f"imported_{n}"]["summary"]["scale_accuracy"] or 0)
                    + (results[f"imported_{n}"]["summary"]["loss_family_accuracy"] or 0))
    best = results[f"imported_{best_name}"]["summary"]
    results["target_imported"] = {
        "protocol": best_name,
        "scale_accuracy": best["scale_accuracy"],
        "scale_met": (best["scale_accuracy"] or 0) >= TARGETS["imported_scale"],
        "loss_family_accuracy": best["loss_family_accuracy"],
        "loss_family_met": (best["loss_family_accuracy"] or 0) >= TARGETS["imported_loss_family"],
        # reported, not scored: the targets are read per image (the stricter reading)
        "scale_model_accuracy": best["scale_model_accuracy"],
        "loss_family_model_accuracy": best["loss_family_model_accuracy"],
    }
    return md


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and v != v):  # None or NaN: no score
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def _crossfit_dir(work: Path, protocol: str, per_model: int) -> Path:
    # the budget is in the name: runs with another per-model budget must not be reused
    return work / f"crossfit-{protocol}-pm{per_model}"


def _section(title: str, table: Path) -> list[str]:
    """Markdown lines of a report section: its title, then the table a library function wrote."""
    return [title, "", table.read_text(), ""]


def _crossfit_markdown(results: dict[str, Any], work: Path, protocols: dict[str, int], tiles: int) -> list[str]:
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
    names = sorted(protocols, reverse=True)
    rows = [(n, sfx) for n in names for sfx in ("_centre", "")] if tiles != 1 else [(n, "") for n in names]
    for pname, sfx in rows:
        r = results[f"imported_{pname}{sfx}"]
        s = r["summary"]
        t = r.get("tiles", 1)
        crops = "centre" if t == 1 else f"{t} x {t}"
        folds = " / ".join(", ".join(f) for f in r["folds"]) if len(r["folds"]) > 1 else "(all)"
        md.append(
            f"| {pname} | {crops} | {folds} | {_fmt(s['scale_accuracy'], True)} of {s['scale_images']} | "
            f"{_fmt(s['scale_model_accuracy'], True)} of {s['scale_models']} | "
            f"{_fmt(s['loss_family_accuracy'], True)} of {s['loss_family_images']} | "
            f"{_fmt(s['loss_family_model_accuracy'], True)} of {s['loss_family_models']} |"
        )
    md.append("")
    for pname in names:
        per_model = results[f"imported_{pname}"]["per_model"]
        md += [f"### {pname}", "", (_crossfit_dir(work, pname, per_model) / "crossfit.md").read_text(), ""]
    return md
