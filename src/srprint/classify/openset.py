"""Open-set attribution: is an image unlike every model the classifier knows?

Two "known-ness" scores (higher = more like a known model):

* ``distance`` (default): the largest cosine similarity between the image's penultimate features and
  the per-class mean features (class means from the training split);
* ``msp``: the maximum softmax probability.

``distance`` is the default: with the log-DCT input the features separate an unseen model from the
known class means (tiny test render: distance AUROC 0.93, MSP 0.56 — the softmax is confidently wrong
on the unseen model). With pixel input and a weakly trained classifier it was the other way round
(0.42 vs 0.84). On the ``mini`` benchmark (57 known models, 3 held out, 3 x 3 crops per image; see
``bench/results/attribution_mini.md``) distance is ahead: AUROC 0.993 vs 0.980, 95 % vs 83 % of
unknown images rejected at 95 % known acceptance. Which score wins depends on the population, so
``attribute eval`` reports both scores' AUROC and ``--openset`` picks one.

The threshold is calibrated on the validation split of known models at a target true-positive rate
(95 % of known images are accepted); images scoring below it are reported as ``unknown``. Scores of
tile-averaged predictions (``tiles > 1``, see :func:`srprint.classify.predict.predict_frame`) are
distributed differently from centre-crop scores, so each tile count has its own calibration file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SrprintError
from ..io.atomic import atomic_save, atomic_write_json

SCORES = ("msp", "distance")
OPENSET_FILE, MEANS_FILE = "openset.json", "openset_means.npy"


def calibration_files(tiles: int = 1) -> tuple[str, str]:
    """(thresholds JSON, class-means NPY) file names of the calibration for ``tiles`` crops per side."""
    if tiles == 1:
        return OPENSET_FILE, MEANS_FILE
    return f"openset-tiles{tiles}.json", f"openset_means-tiles{tiles}.npy"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def class_means(features: np.ndarray, labels: list[str], classes: list[str]) -> np.ndarray:
    """Mean unit-normalised feature per class ``[C, D]`` (zeros for classes without samples)."""
    f = _unit(features)
    lab = np.asarray(labels)
    return np.stack([f[lab == c].mean(0) if (lab == c).any() else np.zeros(f.shape[1]) for c in classes])


def known_score(method: str, probs: np.ndarray, features: np.ndarray, *, means: np.ndarray | None) -> np.ndarray:
    """Per-image known-ness score (higher = more like a known class).

    Raises
    ------
    SrprintError
        On: "the distance open-set score needs class means (calibrate first)"; or "unknown open-set score …;
        known: …".
    """
    if method == "msp":
        return probs.max(1)
    if method == "distance":
        if means is None:
            raise SrprintError("the distance open-set score needs class means (calibrate first)")
        return (_unit(features) @ _unit(means).T).max(1)
    raise SrprintError(f"unknown open-set score {method!r}; known: {', '.join(SCORES)}")


@dataclass
class OpenSetCalibration:
    """Thresholds per score, the target TPR and the class means used by the ``distance`` score."""

    thresholds: dict[str, float]
    tpr: float
    means: np.ndarray
    method: str = "distance"
    tiles: int = 1

    def score(self, probs: np.ndarray, features: np.ndarray, method: str | None = None) -> np.ndarray:
        return known_score(method or self.method, probs, features, means=self.means)

    def is_unknown(self, probs: np.ndarray, features: np.ndarray, method: str | None = None) -> np.ndarray:
        m = method or self.method
        return self.score(probs, features, m) < self.thresholds[m]

    def save(self, run: Path) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, self.means)

        js, npy = calibration_files(self.tiles)
        atomic_save(Path(run) / npy, write)
        atomic_write_json(
            Path(run) / js,
            {"thresholds": self.thresholds, "tpr": self.tpr, "method": self.method, "tiles": self.tiles},
        )

    @classmethod
    def load(cls, run: Path, tiles: int = 1) -> OpenSetCalibration | None:
        js, npy = (Path(run) / name for name in calibration_files(tiles))
        if not (js.is_file() and npy.is_file()):
            return None
        import warnings

        from ..io.arrays import read_json, read_npy

        try:  # a cache: a tampered or truncated one is recomputed, with a warning
            data = read_json(js)
            means = read_npy(npy, ndim=2)
            return cls(data["thresholds"], float(data["tpr"]), means, data["method"], int(data.get("tiles", 1)))
        except (SrprintError, KeyError, TypeError, ValueError) as exc:
            warnings.warn(f"open-set calibration in {run} is unreadable and is recomputed ({exc})", stacklevel=2)
            return None


def calibrate(
    val_probs: np.ndarray,
    val_features: np.ndarray,
    means: np.ndarray,
    *, tpr: float = 0.95,
    method: str = "distance",
    tiles: int = 1,
) -> OpenSetCalibration:
    """Thresholds accepting a fraction ``tpr`` of the known validation images, for every score.

    Raises
    ------
    SrprintError
        On: "open-set calibration needs validation images of the known models".
    """
    if len(val_probs) == 0:
        raise SrprintError("open-set calibration needs validation images of the known models")
    thresholds = {
        m: float(np.quantile(known_score(m, val_probs, val_features, means=means), 1.0 - tpr)) for m in SCORES
    }
    return OpenSetCalibration(thresholds, tpr, means, method, tiles)


def auroc_known_vs_unknown(known: np.ndarray, unknown: np.ndarray) -> float:
    """AUROC of separating known (positive, high score) from unknown images."""
    from sklearn.metrics import roc_auc_score

    if len(known) == 0 or len(unknown) == 0:
        return float("nan")
    y = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    return float(roc_auc_score(y, np.r_[known, unknown]))


def roc_points(known: np.ndarray, unknown: np.ndarray, *, max_points: int = 101) -> dict[str, list[float]] | None:
    """The ROC curve of separating known (positive, high score) from unknown images, thinned to ``max_points``.

    ``fpr`` is the share of unknown images accepted as known, ``tpr`` the share of known images
    accepted, both at every threshold; None when either side is empty. Thinning keeps the first and
    last point, so the curve still runs from (0, 0) to (1, 1).
    """
    from sklearn.metrics import roc_curve

    if len(known) == 0 or len(unknown) == 0:
        return None
    y = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    fpr, tpr, _ = roc_curve(y, np.r_[known, unknown])
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).round().astype(int))
    return {"fpr": [round(float(v), 4) for v in fpr[keep]], "tpr": [round(float(v), 4) for v in tpr[keep]]}


def openset_report(
    cal: OpenSetCalibration, known: tuple[np.ndarray, np.ndarray], unknown: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    """AUROC and rejection rates of every score for (probs, features) of known and unknown images."""
    out: dict[str, Any] = {"n_known": len(known[0]), "n_unknown": len(unknown[0]), "tpr_target": cal.tpr}
    for m in SCORES:
        sk, su = cal.score(*known, method=m), cal.score(*unknown, method=m)
        out[m] = {
            "auroc": auroc_known_vs_unknown(sk, su),
            "roc": roc_points(sk, su),
            "threshold": cal.thresholds[m],
            "known_flagged_unknown": float(np.mean(sk < cal.thresholds[m])) if len(sk) else None,
            "unknown_flagged_unknown": float(np.mean(su < cal.thresholds[m])) if len(su) else None,
        }
    return out
