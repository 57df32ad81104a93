"""The population and attribution sections filled from result tables.

``zoo_quality`` gives the population its quality table; ``attribution_mini`` gives the CNN vs PRNU
headline, the grouped and seed-group tables, the perturbation and open-set results, the imported
models' embedding and the figures it lists; ``attribution_pretrained`` the same protocol on the published
checkpoints (the numbers that count); ``attribution_backbones`` the backbone table.
"""

from __future__ import annotations

from typing import Any

from .section import Section
from .tables import ResultTables, add_guarded, add_table, as_dict, as_list, dict_rows, fixed, num, pct

POPULATION_TABLES = ("zoo_quality",)
ATTRIBUTION_TABLES = ("attribution_mini", "attribution_pretrained", "attribution_backbones")
QUALITY_SETS = ("Set5", "Set14")
# the evaluations of attribution_mini, in column order
EVALUATIONS = ("cnn", "cnn_centre_crop", "prnu", "prnu_ncc")
FIGURE_CAPTIONS = {
    "confusion": "CNN: confusion matrix on the test split",
    "tsne": "CNN: t-SNE of the penultimate features of the test images, coloured by model",
    "prnu_confusion": "PRNU: confusion matrix on the test split",
    "embed": "imported (published) models embedded among the zoo's classes: t-SNE of the CNN features",
}


def eval_label(key: str, ev: dict[str, Any]) -> str:
    """A column name for the evaluation ``key`` of ``attribution_mini`` (``CNN, 3 x 3 crops``)."""
    method = str(ev.get("method", key))
    if method.startswith("prnu") or key.startswith("prnu"):
        return f"PRNU ({method.rsplit(':', 1)[-1]})" if ":" in method else "PRNU"
    tiles = num(ev.get("tiles"))
    if tiles is not None and tiles > 1:
        return f"CNN, {int(tiles)} x {int(tiles)} crops"
    return "CNN, centre crop" if tiles == 1 or key.endswith("centre_crop") else "CNN"


def _evaluations(data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(k, eval_label(k, data[k]), data[k]) for k in EVALUATIONS if isinstance(data.get(k), dict)]


# --- population -------------------------------------------------------------------------------------


def _zoo_quality(part: Section, data: dict[str, Any]) -> None:
    from .table_figures import zoo_quality_figure

    rows = dict_rows(data.get("rows"))
    out, worse = [], []
    for r in rows:
        cells = [r.get("id"), r.get("arch"), r.get("scale"), f"{int(num(r.get('params')) or 0):,}",
                 r.get("iters", "-"), fixed(r.get("train_seconds"), 0)]
        for s in QUALITY_SETS:
            m = as_dict(r.get(s))
            cells += [fixed(m.get("psnr")), fixed(m.get("bicubic_psnr")), fixed(m.get("psnr_gain"), sign=True),
                      f"{fixed(m.get('ssim'), 4)} ({fixed(m.get('bicubic_ssim'), 4)})"]
        beats = r.get("beats_bicubic")
        cells.append("yes" if beats else "NO" if beats is not None else "-")
        if beats is False:
            worse.append(str(r.get("id")))
        out.append(cells)
    if not out:
        return
    cfg = as_dict(data.get("config"))
    recipe = ", ".join(f"{k} {v}" for k, v in cfg.items()) if cfg else ""
    part.tables.append({
        "caption": f"zoo quality: {len(out)} models against bicubic on Set5 and Set14 (Y-PSNR dB, SSIM; never "
                   f"trained on){'; training ' + recipe if recipe else ''}",
        "columns": ["model", "arch", "scale", "params", "iters", "train s",
                    *[f"{s} {c}" for s in QUALITY_SETS for c in ("PSNR", "bicubic", "gain", "SSIM (bicubic)")],
                    "beats bicubic"],
        "rows": out})
    beat = sum(r.get("beats_bicubic") is True for r in rows)
    part.facts.append(("zoo quality", f"{beat} of {len(out)} models beat bicubic on both sets"))
    if worse:
        part.notes.append("zoo quality: not better than bicubic on both sets: " + ", ".join(worse))
    png = zoo_quality_figure(rows, QUALITY_SETS)
    if png is not None:
        part.figures.append({"caption": "PSNR gain over bicubic of each model of the zoo-quality table", "png": png})


def population_from_tables(sec: Section, tables: ResultTables) -> None:
    """Add the zoo-quality table (``zoo_quality.json``) to the population section ``sec``."""
    add_table(sec, tables, "zoo_quality", _zoo_quality)


# --- attribution ------------------------------------------------------------------------------------


def _size_rows(evs: list[tuple[str, str, dict[str, Any]]]) -> list[list[Any]]:
    """The test images and classes, and chance, of each evaluation (rows of a headline table)."""
    return [["test images / classes", *[f"{ev.get('n', '-')} / {ev.get('n_classes', '-')}" for _, _, ev in evs]],
            ["chance", *[pct(ev.get("chance")) for _, _, ev in evs]]]


def _prnu_crop_rows(data: dict[str, Any], evs: list[tuple[str, str, dict[str, Any]]]) -> list[list[Any]]:
    """PRNU's overall accuracy at each further crop (``prnu_by_crop``), in the column of its metric."""
    rows = []
    for crop, by_metric in as_dict(data.get("prnu_by_crop")).items():
        by_metric = as_dict(by_metric)
        rows.append([f"PRNU at {crop} px crops", *[
            pct(by_metric.get(str(ev.get("method", "")).rsplit(":", 1)[-1])) if k.startswith("prnu") else ""
            for k, _, ev in evs]])
    return rows


def _headline(part: Section, data: dict[str, Any], evs: list[tuple[str, str, dict[str, Any]]]) -> None:
    cols = [label for _, label, _ in evs]
    rows = [["overall accuracy", *[pct(ev.get("overall_acc")) for _, _, ev in evs]],
            ["seed groups (mean accuracy)",
             *[pct(as_dict(ev.get("seed_groups")).get("mean_acc")) for _, _, ev in evs]],
            *_size_rows(evs), *_prnu_crop_rows(data, evs)]
    part.tables.append({"caption": "CNN vs PRNU on the test split (the same images for every method)",
                        "columns": ["measure", *cols], "rows": rows})
    for _, label, ev in evs:
        part.facts.append((label, f"{pct(ev.get('overall_acc'))} on {ev.get('n', '?')} test images of "
                                  f"{ev.get('n_classes', '?')} models (chance {pct(ev.get('chance'))})"))
    targets = as_dict(data.get("targets"))
    if targets:
        part.facts.append(("targets", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items())))
    cfg = as_dict(data.get("config"))
    if cfg.get("note"):
        part.notes.append(f"attribution_mini: {cfg['note']}")


def _grouped(part: Section, evs: list[tuple[str, str, dict[str, Any]]]) -> None:
    cols = [label for _, label, _ in evs]
    keys = list(dict.fromkeys(k for _, _, ev in evs for k in as_dict(ev.get("grouped"))))
    for key in keys:
        values: dict[str, list[str]] = {}
        images: dict[str, Any] = {}
        for i, (_, _, ev) in enumerate(evs):
            for r in dict_rows(as_dict(ev.get("grouped")).get(key)):
                if r.get("value") in ("", None):
                    continue
                v = str(r.get("value"))
                values.setdefault(v, [""] * len(evs))[i] = pct(r.get("acc"))
                images.setdefault(v, r.get("n"))
        if values:
            part.tables.append({"caption": f"accuracy by {key} of the generating model",
                                "columns": [key, "images", *cols],
                                "rows": [[v, images[v], *accs] for v, accs in values.items()]})
    _per_class(part, evs, "accuracy per model")
    groups: dict[str, list[Any]] = {}
    for i, (_, _, ev) in enumerate(evs):
        for g in dict_rows(as_dict(ev.get("seed_groups")).get("groups")):
            row = groups.setdefault(str(g.get("group")), [len(as_list(g.get("models"))), g.get("n"),
                                                          pct(g.get("chance"), 0), *[""] * len(evs)])
            row[3 + i] = pct(g.get("acc"))
    if groups:
        part.tables.append({"caption": "seed groups: models that differ only in their training seed, told apart "
                                       "within the group", "columns": ["group", "models", "images", "chance", *cols],
                            "rows": [[g, *row] for g, row in groups.items()]})


def _per_class(part: Section, evs: list[tuple[str, str, dict[str, Any]]], caption: str) -> None:
    per_class: dict[str, list[str]] = {}
    n_class: dict[str, Any] = {}
    for i, (_, _, ev) in enumerate(evs):
        for r in dict_rows(ev.get("per_class")):
            c = str(r.get("class"))
            per_class.setdefault(c, [""] * len(evs))[i] = pct(r.get("acc"))
            n_class.setdefault(c, r.get("n"))
    if per_class:
        part.tables.append({"caption": f"{caption} ({len(per_class)} classes)", "collapsed": True,
                            "columns": ["model", "images", *[label for _, label, _ in evs]],
                            "rows": [[c, n_class[c], *accs] for c, accs in per_class.items()]})


def _published(part: Section, data: dict[str, Any]) -> None:
    """``attribution_pretrained``: the attribution protocol on the published checkpoints alone."""
    evs = _evaluations(data)
    if not evs:
        return
    rows = [["overall accuracy", *[pct(ev.get("overall_acc")) for _, _, ev in evs]], *_size_rows(evs),
            *[[f"open-set AUROC ({score})",
               *[fixed(as_dict(as_dict(ev.get("openset")).get(score)).get("auroc"), 3) for _, _, ev in evs]]
              for score in ("msp", "distance")],
            *_prnu_crop_rows(data, evs)]
    unknown = as_list(as_dict(evs[0][2].get("openset")).get("unknown_models"))
    part.tables.append({"caption": "published checkpoints (trained by others, fully): the same protocol on their "
                                   "renders alone" + (f"; held out as unknowns: {', '.join(map(str, unknown))}"
                                                      if unknown else ""),
                        "columns": ["measure", *[label for _, label, _ in evs]], "rows": rows})
    _, label, ev = evs[0]
    part.facts.append(("published checkpoints", f"{label} names {pct(ev.get('overall_acc'))} of the test images "
                                                f"of {ev.get('n_classes', '?')} published models (chance "
                                                f"{pct(ev.get('chance'))})"))
    _per_class(part, evs, "published checkpoints: accuracy per model")


def _robustness(part: Section, evs: list[tuple[str, str, dict[str, Any]]]) -> None:
    from .table_figures import openset_figure, perturb_points, robustness_figure, roc_figure

    with_perturb = [(label, ev) for _, label, ev in evs if perturb_points(ev)]
    settings = list(dict.fromkeys(s for _, ev in with_perturb for s in as_dict(ev.get("perturb"))))
    if settings:
        rows = []
        for s in settings:
            row: list[Any] = [s]
            for _, ev in with_perturb:
                d = as_dict(as_dict(ev.get("perturb")).get(s))
                drop = num(d.get("drop"))
                row += [pct(d.get("acc")), "-" if drop is None else f"{100 * drop:+.1f}"]
            rows.append(row)
        part.tables.append({"caption": "accuracy on perturbed test images (drop in points from the clean accuracy)",
                            "columns": ["perturbation", *[f"{lab}: {c}" for lab, _ in with_perturb
                                                          for c in ("accuracy", "drop")]], "rows": rows})
        png = robustness_figure(with_perturb)
        if png is not None:
            part.figures.append({"caption": "robustness: accuracy against JPEG quality and against the resize "
                                            "factor (the clean accuracy at 100 / 1)", "png": png})
    with_openset = [(label, ev) for _, label, ev in evs if as_dict(ev.get("openset"))]
    rows, unknown = [], []
    for label, ev in with_openset:
        op = as_dict(ev.get("openset"))
        unknown = as_list(op.get("unknown_models")) or unknown
        for score, d in op.items():
            if isinstance(d, dict):
                rows.append([label, score, fixed(d.get("auroc"), 3), fixed(d.get("threshold"), 3),
                             pct(d.get("known_flagged_unknown")), pct(d.get("unknown_flagged_unknown")),
                             f"{op.get('n_known', '-')} / {op.get('n_unknown', '-')}"])
    if rows:
        part.tables.append({"caption": "open set: images of models never seen in training (the unknowns) against "
                                       "the test images of known models",
                            "columns": ["evaluation", "score", "AUROC", "threshold", "known rejected",
                                        "unknown rejected", "known / unknown images"], "rows": rows})
        if unknown:
            part.notes.append("open-set unknown models (held out of training): " + ", ".join(map(str, unknown)))
        roc = roc_figure(with_openset)
        if roc is not None:
            part.figures.append({"caption": "open set: ROC curve of each score (known images are the positives)",
                                 "png": roc})
        png = openset_figure(with_openset)
        if png is not None:
            part.figures.append({"caption": "open set: AUROC of each score, and the share of known and unknown "
                                            "images rejected at the score's threshold", "png": png})


def _embed(part: Section, data: dict[str, Any]) -> None:
    rows = [[m.get("model_id"), m.get("n"), m.get("nearest_class"), pct(m.get("share")),
             fixed(m.get("mean_known_score"), 3), pct(m.get("flagged_unknown"))]
            for m in dict_rows(as_dict(data.get("embed")).get("models"))]
    if rows:
        part.tables.append({"caption": f"{len(rows)} imported (published) models, never trained on, as the CNN sees "
                                       "them: the zoo class most of their images go to", "collapsed": len(rows) > 20,
                            "columns": ["model", "images", "nearest zoo class", "share of images",
                                        "mean known score", "flagged unknown"], "rows": rows})


def _figures(part: Section, tables: ResultTables, data: dict[str, Any]) -> None:
    for key, rel in as_dict(data.get("figures")).items():
        png = tables.figure("attribution_mini", rel)
        caption = FIGURE_CAPTIONS.get(str(key), str(key))
        if png is None:
            part.notes.append(f"attribution_mini: figure {key} ({rel}) missing or not a PNG")
        else:
            part.figures.append({"caption": caption, "png": png, "size": "half"})


def _backbones(part: Section, data: dict[str, Any]) -> None:
    per = as_dict(data.get("per_backbone"))
    rows = []
    for r in dict_rows(data.get("rows")):
        ev = as_dict(per.get(r.get("backbone")))
        rows.append([r.get("backbone"), fixed(r.get("params_m"), 1), pct(r.get("test_acc")),
                     pct(r.get("seed_group_acc")), pct(ev.get("chance")), ev.get("n", "-"),
                     fixed(r.get("train_s"), 0)])
    if not rows:
        return
    cfg = as_dict(data.get("config"))
    what = ", ".join(f"{k} {cfg[k]}" for k in ("where", "input", "crop", "epochs", "max_per_class", "device")
                     if k in cfg)
    part.tables.append({"caption": f"classifier backbones, same budget ({what})",
                        "columns": ["backbone", "params (M)", "test accuracy", "seed groups", "chance",
                                    "test images", "train s"], "rows": rows})


def attribution_from_tables(sec: Section, tables: ResultTables) -> None:
    """Add ``attribution_mini``, ``attribution_pretrained`` and ``attribution_backbones`` to the section ``sec``."""
    data = tables.get("attribution_mini")
    if data is not None:
        def build(part: Section) -> None:
            evs = _evaluations(data)
            if evs:
                _headline(part, data, evs)
                _grouped(part, evs)
                _robustness(part, evs)
            _embed(part, data)
            _figures(part, tables, data)

        add_guarded(sec, "attribution_mini", build)
    published = tables.get("attribution_pretrained")
    if published is not None:
        add_guarded(sec, "attribution_pretrained", lambda part: _published(part, published))
    backbones = tables.get("attribution_backbones")
    if backbones is not None:
        add_guarded(sec, "attribution_backbones", lambda part: _backbones(part, backbones))
    for name in ATTRIBUTION_TABLES:
        note = tables.absent_note(name)
        if note:
            sec.notes.append(note)
