"""Parsers trained on the whole zoo applied to the imported (third-party) models: the study's Figure 6."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.tiles import DEFAULT_TILES, describe_tiles
from ..io.atomic import atomic_write_json, atomic_write_text
from ..render.manifest import RenderedDataset
from .heldout import (
    LOSS_FAMILY,
    HoldoutError,
    _classifier_config,
    parser_population,
)


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
    *, device: str = "cpu",
    targets: tuple[str, ...] = ("scale", "loss", "arch"),
    split: str = "test",
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Train one parser per target on every trained model, then tabulate how the predictions for each
    imported model's ``split`` images distribute over the classes (the study's Figure 6).

    Also scores the imported models whose truth is known: scale accuracy (when the scale is among the
    parser's classes) and pixel-vs-adversarial loss-family accuracy. Each image is scored on
    ``tiles x tiles`` crops.

    Raises
    ------
    HoldoutError
        If the render holds no imported model's image in ``split``.
    """
    from ..classify.predict import predict_frame
    from ..classify.train import train_classifier

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
        train_classifier(ds.root, train, val, label=target, out=run, cfg=ccfg, device=device, meta=meta)
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
