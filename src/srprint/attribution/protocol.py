"""The attribution benchmark protocol (CNN vs PRNU on one render), shared by ``bench/`` and ``srprint study``.

:func:`run_attribution_protocol` trains (or reuses) the classifier, evaluates it on the centre crop
and on tiles, fits the PRNU baseline at one or more crops, embeds imported models, and checks the
targets of issue 5: CNN >= 97 %; seed groups >= 99 %; CNN >= PRNU + 30 pts; open-set AUROC >= 0.95;
accuracy drop at JPEG q=90 <= 5 pts. :func:`attribution_markdown` renders its result as the table of
``bench/results/attribution_mini.md``; :func:`mini_stage` is the study's stage that writes it,
:func:`published_stage` the stage that runs the same protocol on the published checkpoints of the render
(``attribution_pretrained``), and :func:`backbones_stage` (from :mod:`.backbones_protocol`) the stage of
the backbone comparison.

Runs live under ``$SRPRINT_HOME/bench/<name>/<config hash>/`` by default, so the bench script and the
study share (and resume) the same classifier and PRNU runs.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..classify.tiles import DEFAULT_TILES
from ..config import resolves_device
from ..errors import DatasetError
from ..progress import console
from .backbones_protocol import backbones_stage
from .protocol_common import classifier_config, require_render, stage_render

__all__ = [
    "DEFAULT_HOLDOUT", "MINI_PUBLISHED_PROTOCOL", "MINI_STAGE_PROTOCOL", "MINI_TABLE", "PUBLISHED_TABLE",
    "AttributionProtocol", "attribution_markdown", "backbones_stage", "classifier_config", "headline", "mini_stage",
    "published_stage", "require_render", "run_attribution_protocol", "stage_render",
]

# The heavy modules (torch, timm, the engine) are imported inside the functions: the bench scripts
# import this module to build their --help, and the study imports it before the stage runs.

# models of the mini grid kept out of training: one x2/L1 and one x4/VGG+Adv model (no seed triplet
# touched) and one adversarial model of the second training set; they are the open-set unknowns.
DEFAULT_HOLDOUT = "model_id=NLSN-bsds-x2-L1-s1|SwinIR-bsds-x4-VGG+Adv-s1|EDSR-photos-x2-ResNet+Adv-s1"
MINI_TABLE = "attribution_mini"
PUBLISHED_TABLE = "attribution_pretrained"  # the same protocol on the render's published checkpoints

HEADLINE_ROWS = {
    "acc": "overall accuracy",
    "seed_groups": "seed groups",
    "jpeg95_drop": "drop at JPEG q=95 (pts)",
    "jpeg90_drop": "drop at JPEG q=90 (pts)",
    "jpeg75_drop": "drop at JPEG q=75 (pts)",
    "auroc_msp": "open-set AUROC (msp)",
    "auroc_distance": "open-set AUROC (distance)",
}


@dataclass(frozen=True)
class AttributionProtocol:
    """Options of the attribution benchmark; the defaults are ``bench/attribution_mini.py``'s.

    Classifier options left ``None`` keep :class:`~srprint.classify.run_folder.ClassifierConfig`'s
    defaults (the library's recipe). ``holdout`` names the models kept out of training (the open-set
    unknowns; ``""``: none); ``prnu_crop`` ``None`` uses the CNN's crop (same pixels);
    ``prnu_extra_crops`` are further PRNU crops reported by overall accuracy only; ``tiles`` crops per
    side are scored per test image (1: centre crop only); ``jobs`` PRNU residual processes.
    """

    where: str = "source=trained"
    holdout: str = DEFAULT_HOLDOUT
    backbone: str = "convnext_atto"
    input: str = "dct"
    jpeg_augment: float | None = None
    jpeg_quality_min: int | None = None
    dct_eps: float | None = None
    patience: int | None = None
    crop: int = 128
    head_epochs: int = 3
    epochs: int = 15
    batch_size: int = 16
    lr: float = 5e-4
    max_per_class: int | None = None
    init: str | None = None
    prnu_crop: int | None = None
    prnu_extra_crops: tuple[int, ...] = ()
    prnu_denoiser: str = "wavelet"
    tiles: int = DEFAULT_TILES
    perturb: bool = True
    jobs: int = 1
    note: str = ""


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


def _fmt_headline(key: str, value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.3f}" if key.startswith("auroc") else f"{100 * value:.1f}" + ("" if "drop" in key else " %")


def _filters(data: Path, protocol: AttributionProtocol) -> tuple[str | None, str | None, Any]:
    """The closed-set filter and holdout that apply to this render, and the whole render."""
    from ..render.manifest import RenderedDataset, apply_where

    full = RenderedDataset.open(data)
    ds, where = full, protocol.where or None
    if where:
        try:
            ds = full.filter(where)
        except DatasetError:  # e.g. a render without a source column, or no 'trained' model: use it all
            console.print(f"filter {where!r} does not apply to {data}: every row is used", highlight=False)
            where = None
    holdout = protocol.holdout or None
    if holdout and apply_where(ds.frame, holdout).empty:
        console.print(f"holdout filter {holdout!r} matches nothing in this render: no open-set evaluation",
                      highlight=False)
        holdout = None
    return where, holdout, full


def _targets(cnn: dict[str, Any], best_prnu: float, sg: float | None) -> dict[str, bool | None]:
    auroc = (cnn.get("openset") or {}).get("msp", {}).get("auroc")
    auroc_d = (cnn.get("openset") or {}).get("distance", {}).get("auroc")
    best_auroc = max([a for a in (auroc, auroc_d) if a is not None], default=None)
    jpeg90 = (cnn.get("perturb") or {}).get("jpeg90", {}).get("drop")
    return {
        "cnn_overall>=0.97": cnn["overall_acc"] >= 0.97,
        "seed_groups>=0.99": None if sg is None else sg >= 0.99,  # None: no seed group in this population
        # against the strongest PRNU variant measured (metric and crop)
        "cnn>=prnu+0.30": cnn["overall_acc"] >= best_prnu + 0.30,
        "openset_auroc>=0.95": None if best_auroc is None else best_auroc >= 0.95,
        "jpeg90_drop<=0.05": jpeg90 is not None and jpeg90 <= 0.05,
    }


@resolves_device
def run_attribution_protocol(
    data: str | Path,
    *,
    protocol: AttributionProtocol = AttributionProtocol(),  # frozen: one shared default is safe
    device: str = "auto",
    figures_dir: str | Path,
    name: str = MINI_TABLE,
    work: str | Path | None = None,
) -> dict[str, Any]:
    """Run the attribution benchmark on one render and return its result (the table's JSON).

    Parameters
    ----------
    data : str or Path
        The render folder.
    protocol : AttributionProtocol
        The options (default: the bench's).
    device : str
        Torch device (``auto``: CUDA when available).
    figures_dir : str or Path
        Where the figures are copied; ``result["figures"]`` holds their paths relative to
        ``figures_dir.parent`` (the folder of the table).
    name : str
        The table's name (label renders other than the mini render!).
    work : str or Path, optional
        Root of the run folders (default ``$SRPRINT_HOME/bench/<name>``); the runs go to
        ``<work>/<config hash>/{cnn,prnu,prnu_<crop>}`` and are reused when complete.

    Returns
    -------
    dict
        ``name, data, where, holdout, device, classifier, config, summary, targets, timings, cnn,
        cnn_centre_crop, prnu, prnu_ncc, prnu_by_crop, embed, figures``.

    Raises
    ------
    DatasetError
        If ``data`` is not a render, or (from the engine) the filtered render has no training images.
    SrprintError
        For an unknown device, backbone or out-of-range classifier option.
    """
    from ..attribution.evaluate import embed_dataset, evaluate_run
    from ..attribution.prnu import PRNUConfig, evaluate_prnu, fit_prnu
    from ..classify.train import train_run
    from ..config import config_hash, srprint_home

    data = require_render(data, "the attribution benchmark")
    where, holdout, full = _filters(data, protocol)
    cfg = classifier_config(protocol, init=str(Path(protocol.init).resolve()) if protocol.init else None)
    # the key the bench script always used: runs made before this module existed are reused
    key = config_hash({"data": str(data), "where": where, "holdout": holdout, "cfg": cfg})
    base = Path(work) if work is not None else srprint_home() / "bench" / name
    base = base / key
    perturb, tiles = protocol.perturb, protocol.tiles
    timings: dict[str, float] = {}

    t = time.perf_counter()
    cnn_run = train_run(data, base / "cnn", cfg, label="model_id", where=where, holdout_models=holdout, device=device)
    timings["cnn_train_s"] = time.perf_counter() - t
    cnn_centre: dict[str, Any] | None = None
    if tiles != 1:  # the study's centre-crop protocol, for comparison (evaluated first: the run's
        # eval_test.json then holds the main, tiled evaluation)
        t = time.perf_counter()
        cnn_centre = evaluate_run(cnn_run, split="test", perturb=perturb, device=device, figures=False, tiles=1)
        timings["cnn_eval_centre_s"] = time.perf_counter() - t
    t = time.perf_counter()
    cnn = evaluate_run(cnn_run, split="test", perturb=perturb, device=device, tiles=tiles)
    timings["cnn_eval_s"] = time.perf_counter() - t

    prnu_where = where
    if holdout:  # PRNU is fitted on the same known models as the CNN
        prnu_where = ",".join(filter(None, [where, holdout.replace("model_id=", "model_id!=", 1)]))
    t = time.perf_counter()
    prnu_crop = protocol.prnu_crop or protocol.crop
    pcfg = PRNUConfig(denoiser=protocol.prnu_denoiser, crop=prnu_crop, metric="euclidean")
    prnu_run = fit_prnu(data, base / "prnu", pcfg, where=prnu_where, jobs=protocol.jobs)
    prnu = evaluate_prnu(prnu_run, jobs=protocol.jobs)
    prnu_ncc = evaluate_prnu(prnu_run, metric="ncc", jobs=protocol.jobs, figures=False)
    prnu_by_crop: dict[int, dict[str, float]] = {}
    for c in protocol.prnu_extra_crops:
        if c == prnu_crop:
            continue
        xcfg = PRNUConfig(denoiser=protocol.prnu_denoiser, crop=c, metric="euclidean")
        xrun = fit_prnu(data, base / f"prnu_{c}", xcfg, where=prnu_where, jobs=protocol.jobs)
        prnu_by_crop[c] = {
            m: evaluate_prnu(xrun, metric=m, jobs=protocol.jobs, figures=False)["overall_acc"]
            for m in ("euclidean", "ncc")
        }
    timings["prnu_s"] = time.perf_counter() - t

    embed: dict[str, Any] | None = None
    if "source" in full.frame.columns and (full.frame["source"] == "imported").any():
        embed = embed_dataset(cnn_run, data, where="source=imported", device=device, tiles=tiles)

    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures = {}
    for k, p in {
        **cnn.get("figures", {}),
        **{f"prnu_{k}": v for k, v in prnu.get("figures", {}).items()},
        **({"embed": embed["figure"]} if embed and embed.get("figure") else {}),
    }.items():
        dst = figures_dir / f"{k}.png"
        shutil.copyfile(p, dst)
        figures[k] = dst.relative_to(figures_dir.parent).as_posix()

    sg = (cnn.get("seed_groups") or {}).get("mean_acc")
    sg = None if sg is None or sg != sg else sg  # NaN: no seed group in the test split
    best_prnu = max(
        [prnu["overall_acc"], prnu_ncc["overall_acc"], *(a for v in prnu_by_crop.values() for a in v.values())]
    )
    summary: dict[str, Any] = {
        "tiles": tiles,
        "cnn_acc": cnn["overall_acc"],
        "prnu_acc": prnu["overall_acc"],
        "prnu_ncc_acc": prnu_ncc["overall_acc"],
        "prnu_best_acc": best_prnu,
        "seed_group_acc": sg,
        "prnu_seed_group_acc": (prnu.get("seed_groups") or {}).get("mean_acc"),
        "openset_auroc_msp": (cnn.get("openset") or {}).get("msp", {}).get("auroc"),
        "openset_auroc_distance": (cnn.get("openset") or {}).get("distance", {}).get("auroc"),
        "jpeg90_drop": (cnn.get("perturb") or {}).get("jpeg90", {}).get("drop"),
        # what the table's first paragraph describes
        "render_images": len(full.frame),
        "render_models": int(full.frame["model_id"].nunique()),
    }
    if cnn_centre is not None:
        summary["centre_crop"] = headline(cnn_centre)
    return {
        "name": name,
        "data": str(data),
        "where": where,
        "holdout": holdout,
        "device": device,
        "classifier": cnn_run.name,
        # the options as given, plus the classifier config they resolve to (library defaults filled in)
        "config": {"data": str(data), "name": name, **asdict(protocol), "device": device,
                   "classifier_config": asdict(cfg)},
        "summary": summary,
        "targets": _targets(cnn, best_prnu, sg),
        "timings": timings,
        "cnn": cnn,
        "cnn_centre_crop": cnn_centre,
        "prnu": prnu,
        "prnu_ncc": prnu_ncc,
        "prnu_by_crop": prnu_by_crop,
        "embed": embed,
        "figures": figures,
    }


def attribution_markdown(result: dict[str, Any]) -> str:
    """The Markdown table of a :func:`run_attribution_protocol` result (title first, then the tables).

    Figure links are the result's ``figures`` paths, relative to the folder of the table.
    """
    from ..attribution.evaluate import tables_markdown

    conf, summ, targets = result["config"], result["summary"], result["targets"]
    cfg = conf["classifier_config"]
    cnn, prnu, prnu_ncc, centre = result["cnn"], result["prnu"], result["prnu_ncc"], result["cnn_centre_crop"]
    tiles, sg, best_prnu = summ["tiles"], summ["seed_group_acc"], summ["prnu_best_acc"]
    prnu_crop = conf["prnu_crop"] or conf["crop"]
    md = [
        f"# Attribution benchmark: {result['name']}",
        "",
        *([f"**{conf['note']}**", ""] if conf["note"] else []),
        f"Render `{result['data']}` ({summ['render_images']} images, {summ['render_models']} models), "
        f"filter `{result['where']}`, held out `{result['holdout']}`; {conf['backbone']} crop {conf['crop']}, "
        f"{conf['head_epochs']}+{conf['epochs']} epochs (patience {cfg['patience']}), "
        + (f"initialised from `{cfg['init']}`, " if cfg["init"] else "")
        + f"input {conf['input']} (log floor {cfg['dct_eps']:g}), JPEG augmentation {cfg['jpeg_augment']:g} at "
        f"quality {cfg['jpeg_quality_min']}-100; CNN evaluated on {tiles} x {tiles} crops per test image "
        f"(log-probabilities and features averaged); PRNU crop {prnu_crop}; device {result['device']}.",
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
    for c, accs in result["prnu_by_crop"].items():
        md.append(f"| PRNU at {c} px (overall) | | {100 * accs['euclidean']:.1f} % | {100 * accs['ncc']:.1f} % |")
    if centre is not None:
        c_head, t_head = headline(centre), headline(cnn)
        md += [
            "",
            f"CNN scored on the centre crop only (the study's protocol) vs on {tiles} x {tiles} crops "
            "per image (same run, same weights):",
            "",
            f"| CNN | centre crop | {tiles} x {tiles} crops |",
            "|---|---:|---:|",
        ]
        for key, label in HEADLINE_ROWS.items():
            md.append(f"| {label} | {_fmt_headline(key, c_head[key])} | {_fmt_headline(key, t_head[key])} |")
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
    md += [tables_markdown(cnn, "CNN"), tables_markdown(prnu, "PRNU (euclidean)")]
    embed = result["embed"]
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
        "Figures: " + ", ".join(f"[{k}]({v})" for k, v in result["figures"].items()),
        "",
        "Timings: " + ", ".join(f"{k} {v:.0f}" for k, v in result["timings"].items()),
    ]
    return "\n".join(md) + "\n"


# the options of the study's stage: the bench's defaults (one place to change what the study runs)
# the options the committed bench/results/attribution_mini.json records in its "config" (session 5's
# recipe: crop 64, 0+20 epochs), so the study regenerates that table and shares its cached runs
MINI_STAGE_PROTOCOL = AttributionProtocol(
    crop=64, head_epochs=0, epochs=20, patience=5, jpeg_augment=0.9, jpeg_quality_min=85,
    prnu_extra_crops=(128, 192), jobs=2,
    note="mini render: all 60 mini-zoo models (3 held out as open-set unknowns), 142 corpus photos "
         "centre-cropped to 192 px, 80/10/10 split by photo; library recipe (90 % JPEG augmentation at quality "
         "85-100) with crop 64 and 0+20 epochs; srprint study --preset mini")


# the published checkpoints of the mini render (source=imported), with the same recipe; the three held
# out are those of the committed bench/results/attribution_pretrained.json (each has published relatives,
# other scales or variants of its family, left in training: the hard open-set case)
MINI_PUBLISHED_PROTOCOL = replace(
    MINI_STAGE_PROTOCOL, where="source=imported",
    holdout="model_id=rlfn-s_official_x4-pretrained|fsrcnn-small_opencv_x3-pretrained|efdn_ntire2022_x4-pretrained",
    note="mini render, imported population: the published third-party SR checkpoints (fully trained; 3 held "
         "out as open-set unknowns), 142 corpus photos centre-cropped to 192 px, 80/10/10 split by photo; "
         "library recipe (90 % JPEG augmentation at quality 85-100) with crop 64 and 0+20 epochs; trained from "
         "scratch; srprint study --preset mini")


def _table_stage(ctx: Any, render: Path, protocol: AttributionProtocol, name: str) -> dict[str, Any]:
    from ..result_tables import write_table

    tables = Path(ctx.tables_dir)
    result = run_attribution_protocol(render, protocol=protocol, device=ctx.device, figures_dir=tables / name,
                                      name=name)
    jp, mp = write_table(tables, name, result, attribution_markdown(result))
    summ = result["summary"]
    console.print(f"{name}: CNN {100 * summ['cnn_acc']:.1f} %, PRNU {100 * summ['prnu_acc']:.1f} %; "
                  f"table {mp}", highlight=False)
    return {"table": str(jp), "markdown": str(mp), "cnn_acc": summ["cnn_acc"], "prnu_acc": summ["prnu_acc"],
            "seed_group_acc": summ["seed_group_acc"], "targets": result["targets"]}


def mini_stage(ctx: Any, *, protocol: AttributionProtocol | None = None) -> dict[str, Any]:
    """The study's attribution stage: the benchmark on the render stage's render, as ``tables/attribution_mini``.

    Parameters
    ----------
    ctx : StudyContext
        Reads ``ctx.results['render']['render']``, ``ctx.device`` and ``ctx.tables_dir``.
    protocol : AttributionProtocol, optional
        The options (default :data:`MINI_STAGE_PROTOCOL`, the bench's defaults).

    Returns
    -------
    dict
        ``table`` (the JSON path), ``markdown``, ``cnn_acc``, ``prnu_acc``, ``seed_group_acc`` and
        ``targets``.

    Raises
    ------
    SrprintError
        If the render stage has not run; otherwise as :func:`run_attribution_protocol`.
    """
    render = stage_render(ctx, "the attribution stage")
    return _table_stage(ctx, render, protocol or MINI_STAGE_PROTOCOL, MINI_TABLE)


def published_stage(ctx: Any, *, protocol: AttributionProtocol | None = None) -> dict[str, Any]:
    """The study's stage that attributes images to the published checkpoints (``tables/attribution_pretrained``).

    The same benchmark as :func:`mini_stage`, on the render's imported models only: the numbers that
    count are those on real published checkpoints, not on the 400-iteration mini zoo.

    Parameters
    ----------
    ctx : StudyContext
        Reads ``ctx.results['render']['render']``, ``ctx.device`` and ``ctx.tables_dir``.
    protocol : AttributionProtocol, optional
        The options (default :data:`MINI_PUBLISHED_PROTOCOL`).

    Returns
    -------
    dict
        As :func:`mini_stage`; or ``{"skipped": ...}`` when the render holds no row of the protocol's
        filter (no published checkpoint was imported).

    Raises
    ------
    SrprintError
        If the render stage has not run; otherwise as :func:`run_attribution_protocol`.
    """
    from ..render.manifest import RenderedDataset

    protocol = protocol or MINI_PUBLISHED_PROTOCOL
    render = stage_render(ctx, "the published-models attribution stage")
    try:
        RenderedDataset.open(render).filter(protocol.where)
    except DatasetError:  # without this check the protocol would fall back to every row of the render
        return {"skipped": f"the render has no {protocol.where} rows (no published checkpoint imported)"}
    return _table_stage(ctx, render, protocol, PUBLISHED_TABLE)
