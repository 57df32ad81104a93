"""Held-out hyperparameter parsers (the reference study's Table 5 and Figure 6).

A parser is a classifier of one hyperparameter (``scale``, ``loss``, ``arch`` or ``dataset``),
trained with the project's one classifier engine (:mod:`srprint.classify`) on every
trained model *except* those with one value of another hyperparameter, and tested on exactly
those held-out models (e.g. train without RCAN, test the scale parser on RCAN). As in the study
the dataset parser ignores seed-2 and seed-3 models (only the base grid varies the training set).

A run folder is an engine run plus ``heldout.json`` (split sizes, test accuracy, chance level,
confusion counts). :func:`parse_table` runs the whole grid of targets x held-out values;
:func:`srprint.parsing.imported.imported_table` applies parsers trained on the whole zoo to the
imported (third-party) models of a render (the study's Figure 6); :mod:`.predict` applies one
parser to new images.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.tiles import DEFAULT_TILES, describe_tiles
from ..errors import DatasetError
from ..io.atomic import atomic_write_json, atomic_write_text
from ..render.manifest import REAL_CLASS, RenderedDataset

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
    """``"arch=RCAN"`` -> ``("arch", "RCAN")``.

    Raises
    ------
    HoldoutError
        On: "--holdout …: expected KEY=VALUE, e.g. arch=RCAN or loss=L1"; or "--holdout …: unknown key …; use
        one of …".
    """
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


def heldout_split(frame: pd.DataFrame, target: str, key: str, *, value: str, test_split: str = "test") -> HeldoutSplit:
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
    from ..classify.run_folder import ClassifierConfig

    if cfg is None:
        return ClassifierConfig()
    if isinstance(cfg, dict):
        return ClassifierConfig(**cfg)
    return cfg


def evaluate_parser(
    run: str | Path, root: str | Path, test: pd.DataFrame, *, target: str, device: str = "cpu", tiles: int = 1
) -> dict[str, Any]:
    """Test accuracy of a parser run on ``test`` rows (``tiles`` crops per side), chance and counts."""
    from ..classify.predict import load_classifier, predict_frame

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
    *, out: str | Path,
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
    from ..classify.train import train_classifier

    out = Path(out)
    done = out / RESULT_FILE
    if done.is_file():
        previous = json.loads(done.read_text())
        if previous.get("tiles", 1) == tiles:  # results written before tiles existed: centre crop
            return previous
    key, value = parse_holdout(holdout)
    ds = RenderedDataset.open(data, where)
    split = heldout_split(ds.frame, target, key, value=value, test_split=test_split)
    ccfg = _classifier_config(cfg)
    meta = {
        "data": str(Path(data).resolve()),
        "where": where,
        "target": target,
        "holdout": f"{key}={value}",
        "test_split": test_split,
        "task": "heldout-parser",
    }
    train_classifier(ds.root, split.train, split.val, label=target, out=out, cfg=ccfg, device=device, meta=meta)
    result = {
        "target": target,
        "holdout": f"{key}={value}",
        **split.sizes(),
        **evaluate_parser(out, ds.root, split.test, target=target, device=device, tiles=tiles),
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
    *, device: str = "cpu",
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

    Raises
    ------
    HoldoutError
        On: "no held-out value applies (need several losses, archs, datasets or seeds)".
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
                heldout_split(ds.frame, target, key, value=value, test_split=test_split)
            except HoldoutError as exc:
                cells.append({**cell, "status": "skipped", "reason": str(exc)})
                continue
            res = train_heldout(data, target, h, out=out / f"{target}__{h}", cfg=cfg, device=device, where=where,
                                test_split=test_split, tiles=tiles)
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
