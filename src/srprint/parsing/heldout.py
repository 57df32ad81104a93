"""Held-out hyperparameter parsers (the reference study's Table 5 and Figure 6).

A parser is a classifier of one hyperparameter (``scale``, ``loss``, ``arch`` or ``dataset``),
trained with the project's one classifier engine (:mod:`srprint.attribution.engine`) on every
trained model *except* those with one value of another hyperparameter, and tested on exactly
those held-out models (e.g. train without RCAN, test the scale parser on RCAN). As in the study
the dataset parser ignores seed-2 and seed-3 models (only the base grid varies the training set).

A run folder is an engine run plus ``heldout.json`` (split sizes, test accuracy, chance level,
confusion counts). :func:`parse_table` runs the whole grid of targets x held-out values;
:func:`imported_table` applies parsers trained on the whole zoo to the imported (third-party)
models of a render (the study's Figure 6).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..attribution.tiles import DEFAULT_TILES, describe_tiles
from ..dataset import REAL_CLASS, RenderedDataset
from ..errors import DatasetError, SrprintError
from ..io.atomic import atomic_write_json, atomic_write_text

TARGETS = ("scale", "loss", "arch", "dataset")
HOLDOUT_KEYS = ("scale", "loss", "arch", "dataset", "seed")
DATASET_EXCLUDED_SEEDS = (2, 3)
RESULT_FILE = "heldout.json"
LOSS_FAMILY = {"L1": "pixel", "VGG+Adv": "adversarial", "ResNet+Adv": "adversarial"}

# The study's Table 5 as summarised in issue 6 (ranges, not per-cell numbers; % test accuracy)
STUDY_TABLE5: dict[str, dict[str, str]] = {
    "scale": {"default": "99-100", "loss=L1": "~chance"},
    "loss": {"default": "94-99"},
    "arch": {"default": "20-73"},
    "dataset": {"default": "~chance"},
}


class HoldoutError(DatasetError):
    """A held-out split is impossible (unknown value, empty side, single class, meaningless cell)."""


def parse_holdout(expr: str) -> tuple[str, str]:
    """``"arch=RCAN"`` -> ``("arch", "RCAN")``."""
    if "=" not in expr:
        raise HoldoutError(f"--holdout {expr!r}: expected KEY=VALUE, e.g. arch=RCAN or loss=L1")
    key, value = (s.strip() for s in expr.split("=", 1))
    if key not in HOLDOUT_KEYS:
        raise HoldoutError(f"--holdout {expr!r}: unknown key {key!r}; use one of {', '.join(HOLDOUT_KEYS)}")
    if not value:
        raise HoldoutError(f"--holdout {expr!r}: empty value")
    return key, value


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise HoldoutError(f"unknown parser target {target!r}; use one of {', '.join(TARGETS)}")
    return target


def parser_population(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Rows a parser of ``target`` may see: trained models (no real, no imported images); the
    dataset parser also drops seed-2/3 models."""
    rows = frame[(frame["source"] == "trained") & (frame["model_id"] != REAL_CLASS)]
    if target == "dataset":
        rows = rows[~rows["seed"].isin(DATASET_EXCLUDED_SEEDS)]
    return rows


@dataclass
class HeldoutSplit:
    target: str
    key: str
    value: str
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    classes: list[str]

    def sizes(self) -> dict[str, Any]:
        return {
            "train_images": len(self.train),
            "val_images": len(self.val),
            "test_images": len(self.test),
            "train_models": int(self.train["model_id"].nunique()),
            "test_models": int(self.test["model_id"].nunique()),
            "classes": self.classes,
        }


def heldout_split(frame: pd.DataFrame, target: str, key: str, value: str, test_split: str = "test") -> HeldoutSplit:
    """Train / val rows of the models without ``key=value``; test rows of the models with it.

    ``test_split`` selects the held-out models' images (``test``, ``val``, ``train`` or ``all``).

    Raises
    ------
    HoldoutError
        ``key == target``, a value no model has, an empty side, a single training class, or test
        classes the parser never saw.
    """
    check_target(target)
    if key == target:
        raise HoldoutError(
            f"holding out {key}={value} while parsing {target} is meaningless "
            "(the test models' class would be absent from training)"
        )
    rows = parser_population(frame, target)
    if rows.empty:
        raise HoldoutError("the render holds no trained models to parse")
    col = rows[key].astype(str)
    held = rows[col == str(value)]
    if held.empty:
        have = sorted(set(col), key=_natural)
        raise HoldoutError(
            f"--holdout {key}={value}: no model{' (seed 2/3 excluded)' if target == 'dataset' else ''}"
            f" has {key} {value!r}; values: {', '.join(have)}"
        )
    rest = rows[col != str(value)]
    if rest.empty:
        raise HoldoutError(f"--holdout {key}={value} holds out every model: nothing left to train on")
    train, val = rest[rest["split"] == "train"], rest[rest["split"] == "val"]
    test = held if test_split == "all" else held[held["split"] == test_split]
    if train.empty:
        raise HoldoutError(f"--holdout {key}={value}: no train-split images remain for training")
    if test.empty:
        raise HoldoutError(f"--holdout {key}={value}: the held-out models have no {test_split}-split images")
    classes = sorted(set(train[target].astype(str)), key=_natural)
    if len(classes) < 2:
        raise HoldoutError(
            f"--holdout {key}={value}: the training models all have {target} {classes[0]!r}; "
            "a parser needs at least two classes"
        )
    unseen = sorted(set(test[target].astype(str)) - set(classes))
    if unseen:
        raise HoldoutError(
            f"--holdout {key}={value}: test models have {target} {unseen} that no training model "
            "has; the parser cannot predict them"
        )
    return HeldoutSplit(
        target,
        key,
        str(value),
        train.reset_index(drop=True),
        val.reset_index(drop=True),
        test.reset_index(drop=True),
        classes,
    )


def _natural(v: str) -> tuple[int, float, str]:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _classifier_config(cfg: Any) -> Any:
    from ..attribution.engine import ClassifierConfig

    if cfg is None:
        return ClassifierConfig()
    if isinstance(cfg, dict):
        return ClassifierConfig(**cfg)
    return cfg


def evaluate_parser(
    run: str | Path, root: str | Path, test: pd.DataFrame, target: str, device: str = "cpu", tiles: int = 1
) -> dict[str, Any]:
    """Test accuracy of a parser run on ``test`` rows (``tiles`` crops per side), chance and counts."""
    from ..attribution.engine import load_classifier, predict_frame

    clf = load_classifier(run, device)
    pred = predict_frame(clf, Path(root), test, device=device, label=target, tiles=tiles)
    truth = [str(v) for v in test[target].iloc[pred.rows]]
    guesses = pred.pred
    counts: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, guesses, strict=True):
        counts.setdefault(t, {}).setdefault(p, 0)
        counts[t][p] += 1
    per_model = {}
    for mid, g in pd.DataFrame({"m": test["model_id"].iloc[pred.rows].to_numpy(), "t": truth, "p": guesses}).groupby(
        "m"
    ):
        per_model[mid] = float(np.mean(g["t"] == g["p"]))
    return {
        "accuracy": float(np.mean([t == p for t, p in zip(truth, guesses, strict=True)])),
        "tiles": tiles,
        "chance": 1.0 / len(clf.classes),
        "classes": clf.classes,
        "n_test": len(truth),
        "confusion": counts,
        "per_model_accuracy": per_model,
    }


def train_heldout(
    data: str | Path,
    target: str,
    holdout: str,
    out: str | Path,
    cfg: Any = None,
    device: str = "cpu",
    where: str | None = None,
    test_split: str = "test",
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Train (or resume / reuse) one held-out parser and score it; writes ``out/heldout.json``.

    Parameters
    ----------
    data : path
        Rendered dataset folder.
    target : str
        ``scale``, ``loss``, ``arch`` or ``dataset``.
    holdout : str
        ``KEY=VALUE``: the models tested on (and never trained on).
    cfg : ClassifierConfig or dict, optional
        Engine settings (backbone, crop, epochs ...).
    tiles : int
        Crops per side scored per test image. A finished cell scored with another tile count is
        re-scored, not retrained.
    """
    from ..attribution.engine import train_classifier

    out = Path(out)
    done = out / RESULT_FILE
    if done.is_file():
        previous = json.loads(done.read_text())
        if previous.get("tiles", 1) == tiles:  # results written before tiles existed: centre crop
            return previous
    key, value = parse_holdout(holdout)
    ds = RenderedDataset.open(data, where)
    split = heldout_split(ds.frame, target, key, value, test_split)
    ccfg = _classifier_config(cfg)
    meta = {
        "data": str(Path(data).resolve()),
        "where": where,
        "target": target,
        "holdout": f"{key}={value}",
        "test_split": test_split,
        "task": "heldout-parser",
    }
    train_classifier(ds.root, split.train, split.val, target, out, ccfg, device=device, meta=meta)
    result = {
        "target": target,
        "holdout": f"{key}={value}",
        **split.sizes(),
        **evaluate_parser(out, ds.root, split.test, target, device, tiles),
        "config": asdict(ccfg),
    }
    atomic_write_json(done, result)
    return result


def default_holdouts(frame: pd.DataFrame) -> list[str]:
    """The study's held-out values, picked from what the render holds: losses L1 and VGG+Adv, two
    architectures (RCAN and SwinIR when present), the second (minority) training set, and seed 3."""
    rows = parser_population(frame, "scale")
    out: list[str] = []
    losses = set(rows["loss"].astype(str))
    out += [f"loss={v}" for v in ("L1", "VGG+Adv") if v in losses]
    archs = sorted(set(rows["arch"].astype(str)))
    preferred = [a for a in ("RCAN", "SwinIR") if a in archs]
    picks = (preferred + [a for a in archs if a not in preferred])[:2]
    out += [f"arch={a}" for a in picks]
    counts = rows.drop_duplicates("model_id")["dataset"].astype(str).value_counts()
    if len(counts) > 1:
        out.append(f"dataset={counts.index[-1]}")
    seeds = set(rows["seed"].astype(int))
    if 3 in seeds:
        out.append("seed=3")
    return out


def study_reference(target: str, holdout: str) -> str:
    ref = STUDY_TABLE5.get(target, {})
    return ref.get(holdout, ref.get("default", ""))


def parse_table(
    data: str | Path,
    out: str | Path,
    cfg: Any = None,
    device: str = "cpu",
    targets: tuple[str, ...] = TARGETS,
    holdouts: list[str] | None = None,
    where: str | None = None,
    test_split: str = "test",
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Run the grid targets x held-out values (skipping meaningless / impossible cells).

    Writes ``out/<target>__<key>=<value>/`` (one parser run each), ``out/table.json`` and
    ``out/table.md`` with a chance column and the study's reference values. Finished cells are
    reused, so an interrupted table resumes.
    """
    out = Path(out)
    ds = RenderedDataset.open(data, where)
    holdouts = holdouts or default_holdouts(ds.frame)
    if not holdouts:
        raise HoldoutError(f"{data}: no held-out value applies (need several losses, archs, datasets or seeds)")
    cells: list[dict[str, Any]] = []
    for target in targets:
        check_target(target)
        for h in holdouts:
            key, value = parse_holdout(h)
            cell: dict[str, Any] = {"target": target, "holdout": h, "reference": study_reference(target, h)}
            if key == target:
                continue  # meaningless cell: not part of the table
            try:
                heldout_split(ds.frame, target, key, value, test_split)
            except HoldoutError as exc:
                cells.append({**cell, "status": "skipped", "reason": str(exc)})
                continue
            res = train_heldout(data, target, h, out / f"{target}__{h}", cfg, device, where, test_split, tiles)
            cells.append(
                {
                    **cell,
                    "status": "done",
                    "accuracy": res["accuracy"],
                    "chance": res["chance"],
                    "n_test": res["n_test"],
                    "test_models": res["test_models"],
                    "tiles": res["tiles"],
                }
            )
    table = {
        "data": str(data),
        "holdouts": holdouts,
        "targets": list(targets),
        "cells": cells,
        "tiles": next((c["tiles"] for c in cells if "tiles" in c), None),
        "config": asdict(_classifier_config(cfg)),
    }
    atomic_write_json(out / "table.json", table)
    atomic_write_text(out / "table.md", table_markdown(table))
    return table


def table_markdown(table: dict[str, Any]) -> str:
    """Markdown of a parse table: one row per cell, accuracy next to chance and the study's value."""
    lines = [
        "| target | held out | test acc. % | chance % | study (Table 5) % | test images | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in table["cells"]:
        if c["status"] == "done":
            lines.append(
                f"| {c['target']} | {c['holdout']} | {100 * c['accuracy']:.1f} | {100 * c['chance']:.1f} | "
                f"{c['reference']} | {c['n_test']} | |"
            )
        else:
            lines.append(f"| {c['target']} | {c['holdout']} | - | - | {c['reference']} | - | {c['reason']} |")
    tiles = table.get("tiles")
    if tiles:
        lines += ["", f"Each test image scored on {describe_tiles(tiles)}."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- predict
def predict_images(
    run: str | Path, target: str | Path, device: str = "cpu", tiles: int = DEFAULT_TILES
) -> dict[str, Any]:
    """Predictions of a parser run for one image or every image of a folder (unreadable ones skipped),
    plus the folder's aggregate (mean probability and majority vote). Each image is scored on
    ``tiles x tiles`` crops."""
    from ..attribution.engine import load_classifier, predict_frame
    from ..io.images import list_images

    target = Path(target)
    if target.is_dir():
        files = list_images(target)
        root = target
    elif target.is_file():
        files, root = [target], target.parent
    else:
        raise SrprintError(f"no such image or folder: {target}")
    clf = load_classifier(run, device)
    df = pd.DataFrame({"path": [str(f.relative_to(root)) for f in files]})
    pred = predict_frame(clf, root, df, device=device, skip_errors=True, tiles=tiles)
    images = [
        {
            "path": p,
            "prediction": clf.classes[int(np.argmax(pr))],
            "probs": {c: float(v) for c, v in zip(clf.classes, pr, strict=True)},
        }
        for p, pr in zip(pred.paths, pred.probs, strict=True)
    ]
    mean = pred.probs.mean(0)
    votes = pd.Series([i["prediction"] for i in images]).value_counts()
    return {
        "run": str(run),
        "label": clf.meta.get("label"),
        "classes": clf.classes,
        "tiles": tiles,
        "images": images,
        "skipped": pred.skipped,
        "aggregate": {
            "mean_probs": {c: float(v) for c, v in zip(clf.classes, mean, strict=True)},
            "mean_prediction": clf.classes[int(np.argmax(mean))],
            "majority_vote": str(votes.index[0]),
            "n_images": len(images),
        },
    }


def loss_family(loss: str) -> str | None:
    """``pixel`` / ``adversarial`` for a loss label (zoo names or third-party notes), None if unknown."""
    s = str(loss).strip()
    if not s or s.lower() == "unknown":
        return None
    if s in LOSS_FAMILY:
        return LOSS_FAMILY[s]
    up = s.upper()
    if "GAN" in up or "ADV" in up:
        return "adversarial"
    if any(k in up for k in ("L1", "L2", "MSE", "CHARBONNIER", "SMOOTHL1")):
        return "pixel"
    return None


def imported_table(
    data: str | Path,
    out: str | Path,
    cfg: Any = None,
    device: str = "cpu",
    targets: tuple[str, ...] = ("scale", "loss", "arch"),
    split: str = "test",
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Train one parser per target on every trained model, then tabulate how the predictions for each
    imported model's ``split`` images distribute over the classes (the study's Figure 6).

    Also scores the imported models whose truth is known: scale accuracy (when the scale is among the
    parser's classes) and pixel-vs-adversarial loss-family accuracy. Each image is scored on
    ``tiles x tiles`` crops.
    """
    from ..attribution.engine import predict_frame, train_classifier

    out = Path(out)
    ds = RenderedDataset.open(data)
    frame = ds.frame
    imported = frame[frame["source"] == "imported"]
    if split != "all":
        imported = imported[imported["split"] == split]
    if imported.empty:
        raise HoldoutError(f"{data}: no imported-model images ({split} split) to predict")
    ccfg = _classifier_config(cfg)
    models = sorted(imported["model_id"].unique())
    table: dict[str, Any] = {
        "data": str(data), "split": split, "targets": list(targets), "tiles": tiles, "models": {}
    }
    for m in models:
        table["models"][m] = imported_model_info(imported[imported["model_id"] == m])
    for target in targets:
        rows = parser_population(frame, target)
        train, val = rows[rows["split"] == "train"], rows[rows["split"] == "val"]
        if train[target].astype(str).nunique() < 2:
            table.setdefault("skipped", {})[target] = "single class in the zoo"
            continue
        run = out / f"{target}__all"
        meta = {"data": str(Path(data).resolve()), "target": target, "holdout": None, "task": "zoo-parser"}
        train_classifier(ds.root, train, val, target, run, ccfg, device=device, meta=meta)
        pred = predict_frame(run, ds.root, imported, device=device, label=None, tiles=tiles)
        for m, shares in prediction_shares(pred, imported).items():
            table["models"][m]["predictions"][target] = shares
    table["summary"] = imported_summary(table)
    atomic_write_json(out / "imported.json", table)
    atomic_write_text(out / "imported.md", imported_markdown(table))
    return table


def record_loss(labels_json: Any, loss: Any) -> str:
    """A row's loss: the record's ``labels['loss']`` (third-party notes), else the ``loss`` column."""
    labels = json.loads(labels_json) if isinstance(labels_json, str) and labels_json else {}
    return str(labels.get("loss") or loss or "")


def imported_model_info(rows: pd.DataFrame) -> dict[str, Any]:
    """Arch, scale, loss and image count of one imported model (its manifest ``rows``), no predictions yet."""
    first = rows.iloc[0]
    return {
        "arch": str(first["arch"]),
        "scale": int(first["scale"]),
        "loss": record_loss(first["labels_json"], first["loss"]),
        "n_images": len(rows),
        "predictions": {},
    }


def prediction_shares(pred: Any, rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per model of ``rows`` (the frame ``pred`` was made from): the share of its images given each class."""
    ids = rows["model_id"].iloc[pred.rows].to_numpy()
    guesses = np.asarray(pred.pred)
    out = {}
    for m in sorted(set(ids)):
        shares = pd.Series(guesses[ids == m]).value_counts(normalize=True)
        out[str(m)] = {c: float(shares.get(c, 0.0)) for c in pred.classes}
    return out


def imported_summary(table: dict[str, Any]) -> dict[str, Any]:
    """Accuracy on imported models with known truth: scale, and loss family (pixel vs GAN).

    Per image (each prediction counts) and per model (the model's most frequent prediction, i.e. a
    majority vote over all its images; ties count as wrong)."""
    hits: dict[str, list[float]] = {"scale": [0.0, 0.0, 0.0, 0.0], "loss_family": [0.0, 0.0, 0.0, 0.0]}

    def add(key: str, n: int, dist: dict[str, float], right: set[str]) -> None:
        share = sum(v for c, v in dist.items() if c in right)
        wrong = max((v for c, v in dist.items() if c not in right), default=0.0)
        h = hits[key]
        h[0] += n * share
        h[1] += n
        h[2] += float(share > wrong)
        h[3] += 1

    for info in table["models"].values():
        n = info["n_images"]
        sp = info["predictions"].get("scale")
        if sp and str(info["scale"]) in sp:
            add("scale", n, sp, {str(info["scale"])})
        fam = loss_family(info["loss"])
        fp, lp = info["predictions"].get("loss_family"), info["predictions"].get("loss")
        if fam and fp:  # a pixel-vs-adversarial parser scores itself
            add("loss_family", n, fp, {fam})
        elif fam and lp:  # a loss parser scores through the families of its classes
            fam_dist: dict[str, float] = {}
            for c, v in lp.items():
                f = LOSS_FAMILY.get(c, c)
                fam_dist[f] = fam_dist.get(f, 0.0) + v
            add("loss_family", n, fam_dist, {fam})
    out: dict[str, Any] = {}
    for key, (h_img, n_img, h_mod, n_mod) in hits.items():
        out[f"{key}_accuracy"] = h_img / n_img if n_img else None
        out[f"{key}_images"] = int(n_img)
        out[f"{key}_model_accuracy"] = h_mod / n_mod if n_mod else None
        out[f"{key}_models"] = int(n_mod)
    return out


def imported_markdown(table: dict[str, Any]) -> str:
    lines = [
        "| model | arch | scale | loss | " + " | ".join(f"pred. {t}" for t in table["targets"]) + " |",
        "|---|---|---|---|" + "---|" * len(table["targets"]),
    ]
    for m, info in table["models"].items():
        cells = []
        for t in table["targets"]:
            p = info["predictions"].get(t)
            cells.append(
                ", ".join(f"{c} {100 * v:.0f}%" for c, v in sorted(p.items(), key=lambda kv: -kv[1]) if v > 0)
                if p
                else "-"
            )
        lines.append(f"| {m} | {info['arch']} | x{info['scale']} | {info['loss'] or '?'} | " + " | ".join(cells) + " |")
    s = table.get("summary", {})
    lines.append("")
    if s.get("scale_accuracy") is not None:
        lines.append(
            f"Scale accuracy on imported models with a trained scale: {100 * s['scale_accuracy']:.1f}% "
            f"of {s['scale_images']} images; majority vote per model {100 * s['scale_model_accuracy']:.1f}% "
            f"of {s['scale_models']} models"
        )
    if s.get("loss_family_accuracy") is not None:
        lines.append(
            f"Pixel-vs-adversarial loss accuracy (known losses): {100 * s['loss_family_accuracy']:.1f}% "
            f"of {s['loss_family_images']} images; majority vote per model "
            f"{100 * s['loss_family_model_accuracy']:.1f}% of {s['loss_family_models']} models"
        )
    # tables written before tiles existed scored the centre crop
    lines.append(f"Each image scored on {describe_tiles(table.get('tiles', 1))}")
    return "\n".join(lines) + "\n"
