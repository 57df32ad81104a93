"""Scores, leave-models-out cross-validation and folder prediction of FEN + PN runs."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DatasetError, SrprintError
from ..io.atomic import atomic_write_json
from ..render.manifest import REAL_CLASS
from . import metrics as M
from .fenpn_train import (
    FenPnPredictions,
    load_fen_pn,
    predict_fen_pn,
    train_fen_pn,
)
from .pn import (
    VARIANTS,
    FenPnConfig,
    ParsingLoss,
    ParsingNetwork,
    _image_labels,
    class_weights,
    hierarchical_probs,
    shuffle_labels,
)
from .schema import HyperparamSchema, SchemaError


# ---------------------------------------------------------------------------------------------- evaluation
def parsing_scores(
    pred: FenPnPredictions, table: pd.DataFrame, schema: HyperparamSchema, *, n_images: int = 1, seed: int = 0
) -> dict[str, Any]:
    """L1 (continuous), macro F1 (discrete / coarse loss / fine loss) over chunks of ``n_images`` images
    of each labelled generated model in ``pred.frame`` (mean / majority vote within a chunk).

    Raises
    ------
    DatasetError
        On: "no labelled generated images to score".
    """
    frame = pred.frame
    keep = np.flatnonzero(frame["model_id"].isin(table[schema.key]).to_numpy())
    if keep.size == 0:
        raise DatasetError("no labelled generated images to score")
    sub = frame.iloc[keep].reset_index(drop=True)
    labels = _image_labels(sub, table, schema, [])
    chunks = M.chunk_indices(sub["model_id"].to_numpy(), n_images, seed)
    first = np.array([c[0] for c in chunks])
    res: dict[str, Any] = {"n_images": n_images, "n_chunks": len(chunks), "per_target": {}}
    if schema.continuous:
        agg = M.aggregate_continuous(pred.continuous[keep], chunks)
        res["l1"] = M.l1_error(agg, labels["continuous"][first])
        for j, t in enumerate(schema.continuous):
            res["per_target"][t.name] = {"l1": M.l1_error(agg[:, j], labels["continuous"][first, j])}
    flat_f1, fine_f1, coarse_f1 = [], [], []
    for t in schema.discrete:
        votes = M.aggregate_discrete(pred.discrete[t.name][keep].argmax(1), chunks)
        truth = labels[f"d:{t.name}"][first]
        f1 = M.macro_f1(truth, votes)
        res["per_target"][t.name] = {"f1": f1, "accuracy": M.accuracy(truth, votes)}
        if t.hierarchy:
            fine_f1.append(f1)
            cv = M.aggregate_discrete(pred.coarse[t.name][keep].argmax(1), chunks)
            cf = M.macro_f1(labels[f"c:{t.name}"][first], cv)
            coarse_f1.append(cf)
            res["per_target"][t.name]["coarse_f1"] = cf
        else:
            flat_f1.append(f1)
    for t in schema.multilabel:
        votes = M.aggregate_multilabel((pred.multilabel[t.name][keep] >= 0.5).astype(int), chunks)
        f1 = M.macro_f1(labels[f"m:{t.name}"][first].astype(int), votes)
        res["per_target"][t.name] = {"f1": f1}
        if t.hierarchy:
            fine_f1.append(f1)
            cv = M.aggregate_multilabel((pred.coarse[t.name][keep] >= 0.5).astype(int), chunks)
            coarse_f1.append(M.macro_f1(labels[f"c:{t.name}"][first].astype(int), cv))
        else:
            flat_f1.append(f1)
    res["f1_discrete"] = float(np.mean(flat_f1)) if flat_f1 else float("nan")
    res["f1_fine"] = float(np.mean(fine_f1)) if fine_f1 else float("nan")
    res["f1_coarse"] = float(np.mean(coarse_f1)) if coarse_f1 else float("nan")
    return res


def detection_auc(pred: FenPnPredictions) -> float:
    """AUC of "generated" scores: real ``HR`` images vs every generated image in ``pred``."""
    if pred.detection is None:
        return float("nan")
    return M.auc((pred.frame["model_id"] != REAL_CLASS).to_numpy(), pred.detection)


def attribution_accuracy(pred: FenPnPredictions, classes: list[str]) -> float:
    """Top-1 accuracy of the attribution head on images of its training models."""
    if pred.attribution is None:
        return float("nan")
    mask = pred.frame["model_id"].isin(classes).to_numpy()
    if not mask.any():
        return float("nan")
    truth = np.array([classes.index(m) for m in pred.frame["model_id"][mask]])
    return M.accuracy(truth, pred.attribution[mask].argmax(1))


def model_folds(table: pd.DataFrame, n_folds: int, seed: int = 0, *, key: str = "model_id") -> list[list[str]]:
    """Leave-models-out folds; models equal but for the seed stay in the same fold.

    Raises
    ------
    SrprintError
        On: "leave-models-out cross-validation needs at least 2 folds"; or "model groups cannot fill … folds".
    """
    if n_folds < 2:
        raise SrprintError("leave-models-out cross-validation needs at least 2 folds")
    group_cols = [c for c in ("arch", "dataset", "scale", "loss") if c in table.columns]
    groups = (
        table.groupby(group_cols, sort=True)[key].apply(sorted).tolist()
        if group_cols
        else [[m] for m in sorted(table[key])]
    )
    if len(groups) < n_folds:
        raise SrprintError(f"{len(groups)} model groups cannot fill {n_folds} folds")
    order = np.random.default_rng(seed).permutation(len(groups))
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for i, g in enumerate(order):
        folds[i % n_folds] += groups[g]
    return [sorted(f) for f in folds]


def run_fen_cv(
    root: str | Path,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    *, schema: HyperparamSchema,
    out: str | Path,
    cfg: FenPnConfig | None = None,
    n_folds: int = 3,
    variants: tuple[str, ...] = VARIANTS,
    n_shuffles: int = 3,
    aggregate: tuple[int, ...] = (1, 10, 100),
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Leave-models-out CV of FEN+PN and its baselines; writes ``out/cv.json`` and ``out/cv.md``.

    Each fold trains on the other folds' models and scores the held-out models (all their images),
    aggregated over 1 / 10 / 100 images. Also: detection AUC (test-split HR vs held-out models),
    attribution accuracy (test split of the training models). ``randomgt`` averages ``n_shuffles``.

    Raises
    ------
    SrprintError
        On: "unknown FEN+PN variant(s) …; known: …".
    """
    cfg = cfg or FenPnConfig()
    out = Path(out)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SrprintError(f"unknown FEN+PN variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    folds = model_folds(table, n_folds, seed, key=schema.key)
    results: dict[str, Any] = {"config": dataclasses.asdict(cfg), "folds": folds, "variants": {}}
    for variant in variants:
        runs: list[dict[str, Any]] = []
        for f, test_models in enumerate(folds):
            train_models = sorted(set(table[schema.key]) - set(test_models))
            shuffles = list(range(n_shuffles)) if variant == "randomgt" else [None]
            vcfg = dataclasses.replace(cfg, fingerprint_losses=variant != "nofp")
            for s in shuffles:
                sub = out / variant / (f"fold{f}" + (f"-shuffle{s}" if s is not None else ""))
                scores_path = sub / "scores.json"
                if scores_path.is_file():
                    runs.append(json.loads(scores_path.read_text()))
                    continue
                run = train_fen_pn(
                    root,
                    frame,
                    table,
                    schema=schema,
                    train_models=train_models,
                    out=sub,
                    cfg=vcfg,
                    device=device,
                    label_shuffle_seed=None if s is None else 1000 + 17 * f + s,
                    quiet=True,
                )
                test = frame[
                    frame["model_id"].isin(test_models)
                    | ((frame["model_id"] == REAL_CLASS) & (frame["split"] == "test"))
                    | (frame["model_id"].isin(train_models) & (frame["split"] == "test"))
                ]
                pred = predict_fen_pn(run, root, test, device=device)
                held = _subset(pred, pred.frame["model_id"].isin(test_models).to_numpy())
                scores = {
                    "fold": f,
                    "shuffle": s,
                    "aggregate": {str(n): parsing_scores(held, table, schema, n_images=n,
                                                         seed=seed) for n in aggregate},
                    "detection_auc": detection_auc(
                        _subset(
                            pred,
                            (
                                pred.frame["model_id"].isin(test_models) | (pred.frame["model_id"] == REAL_CLASS)
                            ).to_numpy(),
                        )
                    ),
                    "attribution_accuracy": attribution_accuracy(
                        _subset(pred, pred.frame["model_id"].isin(train_models).to_numpy()),
                        load_fen_pn(run).attribution_classes,
                    ),
                }
                atomic_write_json(scores_path, scores)
                runs.append(scores)
        results["variants"][variant] = {"runs": runs, "mean": _mean_scores(runs, aggregate)}
    atomic_write_json(out / "cv.json", results)
    from ..io.atomic import atomic_write_text

    atomic_write_text(out / "cv.md", cv_markdown(results))
    return results


def _subset(pred: FenPnPredictions, mask: np.ndarray) -> FenPnPredictions:
    idx = np.flatnonzero(mask)
    return FenPnPredictions(
        frame=pred.frame.iloc[idx].reset_index(drop=True),
        continuous=pred.continuous[idx],
        discrete={k: v[idx] for k, v in pred.discrete.items()},
        coarse={k: v[idx] for k, v in pred.coarse.items()},
        multilabel={k: v[idx] for k, v in pred.multilabel.items()},
        detection=None if pred.detection is None else pred.detection[idx],
        attribution=None if pred.attribution is None else pred.attribution[idx],
        fingerprints=pred.fingerprints,
    )


def _mean_scores(runs: list[dict[str, Any]], aggregate: tuple[int, ...]) -> dict[str, Any]:
    def mean(vals: list[float]) -> float:
        vals = [v for v in vals if v == v]  # drop NaN
        return float(np.mean(vals)) if vals else float("nan")

    res: dict[str, Any] = {}
    for n in aggregate:
        res[str(n)] = {
            k: mean([r["aggregate"][str(n)].get(k, float("nan")) for r in runs])
            for k in ("l1", "f1_discrete", "f1_coarse", "f1_fine")
        }
    res["detection_auc"] = mean([r["detection_auc"] for r in runs])
    res["attribution_accuracy"] = mean([r["attribution_accuracy"] for r in runs])
    return res


def cv_markdown(results: dict[str, Any]) -> str:
    """Markdown table: variant x aggregation -> L1 / F1 discrete / coarse / fine, AUC, attribution."""
    lines = [
        "| variant | images | L1 (lower better) | F1 discrete | F1 coarse loss | F1 fine loss | det. AUC | attr. acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, v in results["variants"].items():
        for n, s in v["mean"].items():
            if n in ("detection_auc", "attribution_accuracy"):
                continue
            lines.append(
                f"| {variant} | {n} | {s['l1']:.3f} | {s['f1_discrete']:.3f} | {s['f1_coarse']:.3f} | "
                f"{s['f1_fine']:.3f} | {v['mean']['detection_auc']:.3f} | "
                f"{v['mean']['attribution_accuracy']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def clear_run(path: Path) -> None:
    """Remove a run folder (used by ``--force``)."""
    if path.exists():
        shutil.rmtree(path)


__all__ = [
    "FenPnConfig",
    "ParsingNetwork",
    "ParsingLoss",
    "class_weights",
    "hierarchical_probs",
    "shuffle_labels",
    "train_fen_pn",
    "load_fen_pn",
    "predict_fen_pn",
    "parsing_scores",
    "run_fen_cv",
    "model_folds",
    "SchemaError",
]


def predict_folder(run: str | Path, target: str | Path, device: str = "cpu") -> dict[str, Any]:
    """Parse one image or a folder assumed to come from one model: per-image predictions and the
    aggregate (mean of continuous values in the table's units, majority vote of discrete ones).

    Raises
    ------
    SrprintError
        On: "no such image or folder: …".
    ImageError
        On: "no readable image in …".
    """
    from ..errors import ImageError
    from ..io.images import list_images, read_image

    target = Path(target)
    if target.is_dir():
        files, root = list_images(target), target
    elif target.is_file():
        files, root = [target], target.parent
    else:
        raise SrprintError(f"no such image or folder: {target}")
    good, skipped = [], []
    for f in files:
        try:
            read_image(f)
            good.append(f)
        except ImageError as exc:
            skipped.append(f"{f}: {exc}")
    if not good:
        raise ImageError(f"no readable image in {target}")
    loaded = load_fen_pn(run, device)
    frame = pd.DataFrame({"path": [str(f.relative_to(root)) for f in good], "model_id": "?"})
    pred = predict_fen_pn(loaded, root, frame, device=device)
    schema = loaded.schema
    cont = schema.denormalise(pred.continuous) if schema.continuous else np.zeros((len(good), 0))
    images = []
    for i, f in enumerate(good):
        item: dict[str, Any] = {"path": str(f.relative_to(root))}
        for j, t in enumerate(schema.continuous):
            item[t.name] = float(cont[i, j])
        for t in schema.discrete:
            item[t.name] = t.classes[int(pred.discrete[t.name][i].argmax())]
            if t.hierarchy:
                item[f"{t.name}_coarse"] = list(t.hierarchy)[int(pred.coarse[t.name][i].argmax())]
        for t in schema.multilabel:
            item[t.name] = [c for c, p in zip(t.classes, pred.multilabel[t.name][i], strict=True) if p >= 0.5]
        if pred.detection is not None:
            item["p_generated"] = float(pred.detection[i])
        images.append(item)
    agg: dict[str, Any] = {}
    all_idx = [np.arange(len(good))]
    for j, t in enumerate(schema.continuous):
        agg[t.name] = round(float(cont[:, j].mean()), 3)
    for t in schema.discrete:
        agg[t.name] = t.classes[int(M.aggregate_discrete(pred.discrete[t.name].argmax(1), all_idx)[0])]
        if t.hierarchy:
            agg[f"{t.name}_coarse"] = list(t.hierarchy)[
                int(M.aggregate_discrete(pred.coarse[t.name].argmax(1), all_idx)[0])
            ]
    for t in schema.multilabel:
        votes = M.aggregate_multilabel((pred.multilabel[t.name] >= 0.5).astype(int), all_idx)[0]
        agg[t.name] = [c for c, v in zip(t.classes, votes, strict=True) if v]
    if pred.detection is not None:
        agg["p_generated"] = round(float(pred.detection.mean()), 3)
    return {"run": str(run), "n_images": len(good), "images": images, "aggregate": agg, "skipped": skipped}


def evaluate_fen_run(run: str | Path, data: str | Path, *, split: str = "test", device: str = "cpu") -> dict[str, Any]:
    """Score a FEN+PN run (``srprint fen eval``) and write ``RUN/eval.json`` and its figures.

    Parameters
    ----------
    run : str or Path
        The FEN+PN run folder.
    data : str or Path
        The rendered dataset.
    split : str
        The split scored for the run's training models (models it never saw are scored on every image).
    device : str
        Torch device.

    Returns
    -------
    dict
        ``run``, ``unseen_models``, ``unseen`` and ``seen`` (parsing scores at 1, 10 and 100 images),
        ``detection_auc`` and ``attribution_accuracy``.

    Raises
    ------
    SrprintError
        If the run or the render is unreadable, or the render holds no trained model.
    """
    from ..render.manifest import RenderedDataset
    from . import fenpn_train
    from .archstats import render_label_table
    from .fen import fingerprint_figure, similarity_figure

    run = Path(run)
    loaded = fenpn_train.load_fen_pn(run, device)
    ds = RenderedDataset.open(data)
    table, _ = render_label_table(data)
    frame = ds.frame
    trained = set(loaded.record["train_models"])
    unseen = set(table["model_id"]) - trained
    rows = frame[
        (frame["model_id"].isin(unseen))
        | ((frame["split"] == split) & (frame["model_id"].isin(trained) | (frame["model_id"] == REAL_CLASS)))
    ]
    pred = fenpn_train.predict_fen_pn(loaded, ds.root, rows, device=device)
    res: dict[str, Any] = {"run": str(run), "unseen_models": sorted(unseen)}
    for name, models in (("unseen", unseen), ("seen", trained)):
        sub = _subset(pred, pred.frame["model_id"].isin(models).to_numpy())
        if len(sub.frame):
            res[name] = {str(n): parsing_scores(sub, table, loaded.schema, n_images=n) for n in (1, 10, 100)}
    res["detection_auc"] = detection_auc(pred)
    res["attribution_accuracy"] = attribution_accuracy(pred, loaded.attribution_classes)
    fingerprint_figure(dict(pred.fingerprints), str(run / "fingerprints.png"))
    similarity_figure(dict(pred.fingerprints), str(run / "fingerprint_similarity.png"))
    atomic_write_json(run / "eval.json", res)
    return res
