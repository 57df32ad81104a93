"""Parsers for third-party models, trained on the zoo plus the *other* imported model families.

The study's Figure 6 protocol (:func:`srprint.parsing.imported.imported_table`) trains parsers on the
custom zoo alone and applies them to published checkpoints. Our custom zoo is small and trained
briefly, so its parsers learn cues that published, long-trained models do not share (on the mini
render most published x4 models parse as x2). :func:`imported_crossfit` widens the training
population the way an analyst would: parsers see the zoo *and* the imported checkpoints, but every
imported model is predicted by parsers that never saw any model of its family (``folds``-fold
cross-validation grouped by family, e.g. IMDN, IMDN-RTC and IMDN-RTE are one family). ``folds=0``
is the zoo-only protocol with the same training budget, for a like-for-like comparison.

Targets are ``scale`` (only scales the zoo has are trained and scored) and ``loss_family``
(pixel vs adversarial, from the zoo's loss names and the imported models' recorded losses).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.tiles import DEFAULT_TILES
from ..io.atomic import atomic_write_json, atomic_write_text
from ..render.manifest import RenderedDataset
from .heldout import HoldoutError, _classifier_config, parser_population
from .imported import (
    imported_markdown,
    imported_model_info,
    imported_summary,
    loss_family,
    prediction_shares,
    record_loss,
)

CROSSFIT_TARGETS = ("scale", "loss_family")


def import_family(model_id: str) -> str:
    """The family of an imported model id: its first name token (``imdn-rtc_official_x2`` -> ``imdn``)."""
    return re.split(r"[-_]", str(model_id).lower(), maxsplit=1)[0]


def family_folds(model_ids: list[str], folds: int) -> list[list[str]]:
    """Split models into ``folds`` groups of whole families (sklearn ``GroupKFold``: deterministic,
    balanced by model count). Returns the model ids of each fold's test side.

    Raises
    ------
    HoldoutError
        On: "cannot split … imported families into … folds".
    """
    from sklearn.model_selection import GroupKFold

    ids = sorted(model_ids)
    groups = [import_family(m) for m in ids]
    if folds < 2 or folds > len(set(groups)):
        raise HoldoutError(f"cannot split {len(set(groups))} imported families into {folds} folds")
    splitter = GroupKFold(n_splits=folds)
    return [[ids[i] for i in test] for _, test in splitter.split(np.zeros(len(ids)), groups=groups)]


def with_loss_family(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus a ``loss_family`` column (``pixel`` / ``adversarial`` / ``""`` when unknown)."""
    df = frame.copy()
    df["loss_family"] = [
        loss_family(record_loss(js, loss)) or "" for js, loss in zip(df["labels_json"], df["loss"], strict=True)
    ]
    return df


def cap_per_model(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows per model (every model weighs the same in a parser's training set)."""
    if not n or df.empty:
        return df
    parts = [g.sample(n=min(n, len(g)), random_state=seed) for _, g in df.groupby("model_id")]
    return pd.concat(parts).sort_index()


def _trainable(rows: pd.DataFrame, target: str, zoo_scales: set[str]) -> pd.DataFrame:
    if target == "scale":
        return rows[rows["scale"].astype(str).isin(zoo_scales)]
    if target == "loss_family":
        return rows[rows["loss_family"] != ""]
    raise HoldoutError(f"unknown cross-family target {target!r} (choose from {', '.join(CROSSFIT_TARGETS)})")


def imported_crossfit(
    data: str | Path,
    out: str | Path,
    cfg: Any = None,
    *, device: str = "cpu",
    folds: int = 4,
    per_model: int | None = 40,
    targets: tuple[str, ...] = CROSSFIT_TARGETS,
    seed: int = 0,
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Predict every imported model with parsers that never saw its family (see module docstring).

    Parameters
    ----------
    data : path
        Render with trained (zoo) and imported models.
    out : path
        Folder for the runs (``fold<k>/<target>``, resumable), ``crossfit.json`` and ``crossfit.md``.
    cfg : ClassifierConfig or dict, optional
        Engine settings of every parser.
    folds : int
        Family folds; 0 trains on the zoo only (every imported model is a test model).
    per_model : int or None
        Training images per model (validation: a quarter of it); None keeps all.
    tiles : int
        Crops per side scored per image; changing it re-scores, never retrains.

    Returns
    -------
    dict
        ``models`` (per imported model: arch, scale, loss, family, fold, prediction distribution per
        target), ``folds`` (test families per fold) and ``summary`` (scale and loss-family accuracy).

    Raises
    ------
    HoldoutError
        On: "no imported-model images to predict"; or "fold …: target … has a single class in training".
    """
    from ..classify.predict import predict_frame
    from ..classify.train import train_classifier

    out = Path(out)
    ds = RenderedDataset.open(data)
    frame = with_loss_family(ds.frame)
    imported = frame[frame["source"] == "imported"]
    if imported.empty:
        raise HoldoutError(f"{data}: no imported-model images to predict")
    zoo = parser_population(frame, "scale")
    zoo_scales = set(zoo["scale"].astype(str))
    models = sorted(imported["model_id"].unique())
    test_sets = family_folds(models, folds) if folds else [models]
    ccfg = _classifier_config(cfg)
    ccfg = dataclasses.replace(ccfg, max_per_class=None)  # balanced by model instead (cap_per_model)
    table: dict[str, Any] = {
        "data": str(data), "protocol": "family-out" if folds else "zoo-only", "folds": [], "targets": list(targets),
        "per_model": per_model, "tiles": tiles, "models": {},
    }
    for m in models:
        table["models"][m] = {**imported_model_info(imported[imported["model_id"] == m]), "family": import_family(m)}
    for k, test_models in enumerate(test_sets):
        table["folds"].append(sorted({import_family(m) for m in test_models}))
        test_rows = imported[imported["model_id"].isin(test_models)]
        pool = pd.concat([zoo, imported[~imported["model_id"].isin(test_models)]])
        for target in targets:
            rows = _trainable(pool, target, zoo_scales)
            train = cap_per_model(rows[rows["split"] == "train"], per_model, seed)
            val = cap_per_model(rows[rows["split"] == "val"], max(1, per_model // 4) if per_model else None, seed)
            if train[target].astype(str).nunique() < 2:
                raise HoldoutError(f"fold {k}: target {target} has a single class in training")
            run = out / f"fold{k}" / target
            meta = {"data": str(Path(data).resolve()), "target": target, "task": "imported-crossfit", "fold": k,
                    "test_families": table["folds"][-1]}
            train_classifier(ds.root, train, val, label=target, out=run, cfg=ccfg, device=device, meta=meta)
            pred = predict_frame(run, ds.root, test_rows, device=device, label=None, tiles=tiles)
            for m, shares in prediction_shares(pred, test_rows).items():
                table["models"][m]["predictions"][target] = shares
                table["models"][m]["fold"] = k
    table["summary"] = imported_summary(table)
    atomic_write_json(out / "crossfit.json", table)
    atomic_write_text(out / "crossfit.md", imported_markdown(table))
    return table
