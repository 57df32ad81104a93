"""Evaluation tables shared by the CNN classifier and the PRNU baseline (row-by-row comparable).

* overall accuracy and per-class (per-model) accuracy;
* accuracy grouped by each hyper-parameter column (the study's Table 3): for every value of
  ``arch``/``dataset``/``scale``/``loss``/``seed``, the accuracy on images of models with that value;
* seed-group accuracy (Table 4): for each group of models equal but for the seed, the accuracy of
  the classifier restricted to that group's classes (argmax over the group's columns only);
* a confusion matrix.

``scores`` is any ``[N, C]`` matrix where higher means "more likely this class" (softmax
probabilities for the CNN, negative distances / correlations for PRNU).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.openset import OpenSetCalibration, calibrate, class_means, openset_report
from ..classify.perturb import perturbations
from ..classify.predict import Classifier, load_classifier, predict_frame
from ..classify.tiles import DEFAULT_TILES
from ..errors import DatasetError
from ..io.atomic import atomic_write_json
from ..render.manifest import RenderedDataset, apply_where
from .figures import plot_confusion, plot_tsne_panels, tsne_embed

GROUP_COLUMNS = ("arch", "dataset", "scale", "loss", "seed")
SEED_GROUP_KEYS = ("arch", "dataset", "scale", "loss", "size")


def _acc(mask: np.ndarray, correct: np.ndarray) -> float:
    return float(correct[mask].mean()) if mask.any() else float("nan")


def confusion_matrix(true: list[str], pred: list[str], classes: list[str]) -> np.ndarray:
    idx = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(true, pred, strict=True):
        if t in idx:
            cm[idx[t], idx[p]] += 1
    return cm


def seed_groups(frame: pd.DataFrame, classes: list[str]) -> dict[str, list[str]]:
    """Groups of model ids (among ``classes``) equal in every key column but the seed."""
    keys = [k for k in SEED_GROUP_KEYS if k in frame.columns]
    models = frame.drop_duplicates("model_id")
    models = models[models["model_id"].isin(classes)]
    out: dict[str, list[str]] = {}
    for key, g in models.groupby(keys, sort=True):
        ids = sorted(g["model_id"].unique())
        if len(ids) >= 2:
            key_t = key if isinstance(key, tuple) else (key,)
            name = "-".join(
                f"x{v}" if k == "scale" else str(v)
                for k, v in zip(keys, key_t, strict=True)
                if k != "size" and str(v)
            )
            out[name] = ids
    return out


def attribution_tables(
    frame: pd.DataFrame, classes: list[str], scores: np.ndarray, *, label: str = "model_id"
) -> dict[str, Any]:
    """Every table of one evaluation; ``frame`` rows align with ``scores`` rows.

    Returns a JSON-able dict with ``n``, ``overall_acc``, ``per_class``, ``grouped`` (column ->
    rows of value/n/acc), ``seed_groups`` (only for ``label == "model_id"``) and ``confusion``.

    Raises
    ------
    ValueError
        On: "rows but … score rows".
    DatasetError
        On: "no evaluation images (empty split after filtering)".
    """
    if len(frame) != len(scores):
        raise ValueError(f"{len(frame)} rows but {len(scores)} score rows")
    if len(frame) == 0:
        raise DatasetError("no evaluation images (empty split after filtering)")
    true = [str(v) for v in frame[label].tolist()]
    pred = [classes[i] for i in np.asarray(scores).argmax(1)]
    correct = np.array([t == p for t, p in zip(true, pred, strict=True)])
    true_arr = np.asarray(true)
    out: dict[str, Any] = {
        "label": label,
        "n": len(frame),
        "n_classes": len(classes),
        "chance": 1.0 / len(classes),
        "overall_acc": float(correct.mean()),
    }
    out["per_class"] = [
        {"class": c, "n": int((true_arr == c).sum()), "acc": _acc(true_arr == c, correct)}
        for c in classes
        if (true_arr == c).any()
    ]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for col in GROUP_COLUMNS:
        if col not in frame.columns or col == label:
            continue
        vals = frame[col].to_numpy()
        rows = [
            {
                "value": v.item() if hasattr(v, "item") else v,
                "n": int((vals == v).sum()),
                "acc": _acc(vals == v, correct),
            }
            for v in sorted(set(vals.tolist()), key=str)
        ]
        grouped[col] = rows
    out["grouped"] = grouped
    if label == "model_id":
        groups = seed_groups(frame, classes)
        col_of = {c: i for i, c in enumerate(classes)}
        g_rows, hits, total = [], 0, 0
        for name, ids in groups.items():
            sel = np.isin(true_arr, ids)
            if not sel.any():
                continue
            cols = [col_of[i] for i in ids]
            sub = np.asarray(scores)[sel][:, cols]
            sub_pred = np.asarray(ids)[sub.argmax(1)]
            ok = sub_pred == true_arr[sel]
            g_rows.append(
                {
                    "group": name,
                    "models": ids,
                    "n": int(sel.sum()),
                    "acc": float(ok.mean()),
                    "chance": 1.0 / len(ids),
                }
            )
            hits += int(ok.sum())
            total += int(sel.sum())
        out["seed_groups"] = {
            "n_groups": len(g_rows),
            "n": total,
            "mean_acc": hits / total if total else float("nan"),
            "groups": g_rows,
        }
    out["confusion"] = {"classes": classes, "matrix": confusion_matrix(true, pred, classes).tolist()}
    return out


def scale_loss_groups(frame: pd.DataFrame) -> list[str]:
    """Panel name per row: ``x{scale} {loss}`` (or just the label column when those are absent)."""
    if "scale" in frame.columns and "loss" in frame.columns:
        return [f"x{s} {loss}" for s, loss in zip(frame["scale"], frame["loss"], strict=True)]
    return ["all"] * len(frame)


def tables_markdown(t: dict[str, Any], title: str = "") -> str:
    """Markdown rendering of :func:`attribution_tables` output (plus optional extras)."""
    lines = [f"### {title}", ""] if title else []
    lines += [
        f"Overall accuracy: **{100 * t['overall_acc']:.1f} %** on {t['n']} images, {t['n_classes']} classes "
        f"(chance {100 * t['chance']:.1f} %)",
        "",
    ]
    for col, rows in t.get("grouped", {}).items():
        if len(rows) < 2:
            continue
        lines += [f"| {col} | n | accuracy |", "|---|---:|---:|"]
        lines += [f"| {r['value']} | {r['n']} | {100 * r['acc']:.1f} % |" for r in rows]
        lines.append("")
    sg = t.get("seed_groups")
    if sg and sg["n_groups"]:
        lines += [
            f"Seed groups: mean accuracy **{100 * sg['mean_acc']:.1f} %** over {sg['n_groups']} groups",
            "",
            "| seed group | models | n | accuracy | chance |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {g['group']} | {len(g['models'])} | {g['n']} | {100 * g['acc']:.1f} % | "
            f"{100 * g['chance']:.0f} % |"
            for g in sg["groups"]
        ]
        lines.append("")
    lines += ["| class | n | accuracy |", "|---|---:|---:|"]
    lines += [f"| {r['class']} | {r['n']} | {100 * r['acc']:.1f} % |" for r in t["per_class"]]
    if t.get("perturb"):
        lines += ["", "| perturbation | accuracy | drop (pts) |", "|---|---:|---:|"]
        lines += [
            f"| {k} | {100 * v['acc']:.1f} % | {100 * v['drop']:+.1f} |" for k, v in t["perturb"].items()
        ]
    if t.get("openset"):
        o = t["openset"]
        lines += [
            "",
            f"Open set: {o['n_known']} known vs {o['n_unknown']} unknown images",
            "",
            "| score | AUROC | known rejected | unknown rejected |",
            "|---|---:|---:|---:|",
        ]
        for m in ("msp", "distance"):
            if m in o:
                r = o[m]
                lines.append(
                    f"| {m} | {r['auroc']:.3f} | {_pct(r['known_flagged_unknown'])} | "
                    f"{_pct(r['unknown_flagged_unknown'])} |"
                )
    return "\n".join(lines) + "\n"


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f} %"


# --------------------------------------------------------------------------------------------- CNN runs


def open_run_dataset(run: Path, data: Path | None = None, where: str | None = None) -> RenderedDataset:
    """The dataset a run was trained on (``config.yaml``'s ``data`` + ``where``), or ``data`` if given.

    Raises
    ------
    DatasetError
        On: "config.yaml records no dataset; pass --data".
    """
    from ..classify.run_folder import read_run_config

    cfg = read_run_config(run)
    root = data or (Path(cfg["data"]) if cfg.get("data") else None)
    if root is None:
        raise DatasetError(f"{run}: config.yaml records no dataset; pass --data")
    ds = RenderedDataset.open(root)
    w = where if where is not None else cfg.get("where")
    return ds.filter(w) if w else ds


def split_known(
    frame: pd.DataFrame, classes: list[str], label: str, *, holdout: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(known rows, unknown rows): unknown = held-out models or labels the classifier never saw."""
    unknown = pd.Series(~frame[label].astype(str).isin(classes), index=frame.index)
    if holdout:
        unknown |= frame.index.isin(apply_where(frame, holdout).index)
    return frame[~unknown].reset_index(drop=True), frame[unknown].reset_index(drop=True)


def get_calibration(
    clf: Classifier,
    ds: RenderedDataset,
    device: str = "cpu",
    *, per_class: int = 32,
    tpr: float = 0.95,
    tiles: int = DEFAULT_TILES,
) -> OpenSetCalibration:
    """Load (or compute and cache in the run) the open-set calibration of a classifier for ``tiles``."""
    assert clf.run is not None
    cal = OpenSetCalibration.load(clf.run, tiles)
    if cal is not None:
        return cal
    label = clf.meta["label"]
    holdout = clf.meta.get("holdout_models")
    train, _ = split_known(ds.split("train"), clf.classes, label, holdout=holdout)
    val, _ = split_known(ds.split("val"), clf.classes, label, holdout=holdout)
    if val.empty:
        val = train
    train = pd.concat([g.head(per_class) for _, g in train.groupby(train[label].astype(str))])
    tp = predict_frame(clf, ds.root, train, device=device, tiles=tiles)
    vp = predict_frame(clf, ds.root, val, device=device, tiles=tiles)
    assert tp.labels is not None
    means = class_means(tp.features, tp.labels, clf.classes)
    cal = calibrate(vp.probs, vp.features, means, tpr=tpr, tiles=tiles)
    try:
        cal.save(clf.run)
    except OSError as exc:  # a cache: a read-only run is recalibrated next time
        import warnings

        warnings.warn(f"open-set calibration not cached ({exc.strerror or exc}: {clf.run})", stacklevel=2)
    return cal


def evaluate_run(
    run: str | Path,
    split: str = "test",
    perturb: bool = False,
    *, device: str = "cpu",
    data: Path | None = None,
    figures: bool = True,
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Every table and figure of a CNN run on ``split``; written to ``RUN/eval_<split>.json``.

    ``tiles`` crops per side are scored and averaged per image (1: the study's centre crop).

    Raises
    ------
    DatasetError
        If ``split`` holds no image once the run's manifest filter is applied.
    """
    run = Path(run)
    clf = load_classifier(run, device)
    label = clf.meta["label"]
    ds = open_run_dataset(run, data)
    frame = ds.split(split)
    if frame.empty:
        raise DatasetError(f"split {split!r} of {ds.root} is empty (after the run's filter)")
    known, unknown = split_known(frame, clf.classes, label, holdout=clf.meta.get("holdout_models"))
    pred = predict_frame(clf, ds.root, known, device=device, tiles=tiles)
    result = attribution_tables(known, clf.classes, pred.probs, label=label)
    result.update({"run": str(run), "split": split, "method": f"cnn:{clf.cfg.backbone}", "tiles": tiles})
    if perturb:
        result["perturb"] = {}
        for name, fn in perturbations().items():
            p = predict_frame(clf, ds.root, known, device=device, transform=fn, tiles=tiles)
            result["perturb"][name] = {"acc": p.accuracy, "drop": result["overall_acc"] - p.accuracy}
    if not unknown.empty:
        cal = get_calibration(clf, ds, device, tiles=tiles)
        up = predict_frame(clf, ds.root, unknown, device=device, tiles=tiles)
        result["openset"] = openset_report(cal, (pred.probs, pred.features), (up.probs, up.features))
        result["openset"]["unknown_models"] = sorted(unknown["model_id"].unique())
    # the tables are the result; the figures and the JSON copy in the run are side files: a run on
    # read-only media still gets its numbers, with a warning
    try:
        if figures:
            result["figures"] = write_figures(
                run, split, known, classes=clf.classes, scores=pred.probs, features=pred.features, label=label,
                tables=result
            )
        atomic_write_json(run / f"eval_{split}.json", result)
    except OSError as exc:
        import warnings

        result["figures"] = {}
        warnings.warn(f"figures and eval_{split}.json not written ({exc.strerror or exc}: {run})", stacklevel=2)
    return result


def write_figures(
    run: Path,
    split: str,
    frame: pd.DataFrame,
    *, classes: list[str],
    scores: np.ndarray,
    features: np.ndarray | None,
    label: str,
    tables: dict[str, Any],
) -> dict[str, str]:
    """Confusion matrix and (with features) the t-SNE panels, written under ``run``."""
    figs = {
        "confusion": str(
            plot_confusion(
                np.asarray(tables["confusion"]["matrix"]),
                classes,
                run / f"confusion_{split}.png",
                title=f"{tables.get('method', '')} {split}: {100 * tables['overall_acc']:.1f} %",
            )
        )
    }
    if features is not None:
        emb = tsne_embed(features)
        if emb is not None:
            groups = scale_loss_groups(frame)
            pred = np.asarray(classes)[np.asarray(scores).argmax(1)]
            ok = pred == frame[label].astype(str).to_numpy()
            g_arr = np.asarray(groups)
            group_acc = {g: float(ok[g_arr == g].mean()) for g in set(groups)}
            models = (
                frame["model_id"].tolist()
                if "model_id" in frame.columns
                else frame[label].astype(str).tolist()
            )
            figs["tsne"] = str(
                plot_tsne_panels(
                    emb,
                    models,
                    groups,
                    group_acc=group_acc,
                    path=run / f"tsne_{split}.png",
                    title=f"t-SNE of penultimate features ({split})",
                )
            )
    return figs


def embed_dataset(
    run: str | Path,
    data: Path,
    where: str | None = None,
    *, split: str | None = "test",
    device: str = "cpu",
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Embed images of (possibly never-seen) models of ``data`` next to the run's own test images.

    Writes ``RUN/embed_<name>.png`` / ``.json``: per new model, the known class it is most often
    attributed to and its mean open-set score.

    Raises
    ------
    DatasetError
        If ``data`` has no image in ``split``.
    """
    from .figures import plot_embedding

    run = Path(run)
    clf = load_classifier(run, device)
    label = clf.meta["label"]
    new_ds = RenderedDataset.open(data, where=where)
    new = new_ds.split(split) if split else new_ds.frame
    if new.empty:
        raise DatasetError(f"no images in split {split!r} of {data}")
    own_ds = open_run_dataset(run)
    own, _ = split_known(own_ds.split("test"), clf.classes, label, holdout=clf.meta.get("holdout_models"))
    p_new = predict_frame(clf, new_ds.root, new, device=device, label="model_id", tiles=tiles)
    p_own = predict_frame(clf, own_ds.root, own, device=device, label="model_id", tiles=tiles)
    cal = get_calibration(clf, own_ds, device, tiles=tiles)
    feats = np.concatenate([p_own.features, p_new.features])
    labels = list(p_own.labels or []) + list(p_new.labels or [])
    is_new = np.r_[np.zeros(len(p_own.paths), bool), np.ones(len(p_new.paths), bool)]
    name = Path(data).name or "data"
    out: dict[str, Any] = {"run": str(run), "data": str(data), "models": []}
    score = cal.score(p_new.probs, p_new.features)
    new_models = np.asarray(p_new.labels or [])
    for m in sorted(set(new_models.tolist())):
        sel = new_models == m
        votes = pd.Series(np.asarray(p_new.pred)[sel]).value_counts()
        out["models"].append(
            {
                "model_id": m,
                "n": int(sel.sum()),
                "nearest_class": votes.index[0],
                "share": float(votes.iloc[0] / sel.sum()),
                "mean_known_score": float(score[sel].mean()),
                "flagged_unknown": float(np.mean(score[sel] < cal.thresholds[cal.method])),
            }
        )
    emb = tsne_embed(feats)
    if emb is not None:
        out["figure"] = str(
            plot_embedding(
                emb,
                labels,
                is_new,
                path=run / f"embed_{name}.png",
                title=f"unseen models of {name} among the training models",
            )
        )
    atomic_write_json(run / f"embed_{name}.json", out)
    return out


def load_eval(run: Path, split: str = "test", tiles: int | None = None) -> dict[str, Any] | None:
    """The last ``eval_<split>.json`` of a run (None when absent, or made with another ``tiles``)."""
    p = Path(run) / f"eval_{split}.json"
    if not p.is_file():
        return None
    result = json.loads(p.read_text())
    # CNN evaluations written before tiles existed scored the centre crop
    if tiles is not None and result.get("tiles", 1) != tiles:
        return None
    return result
