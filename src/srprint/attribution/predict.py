"""``srprint attribute predict``: the classifier's top-k per image and a folder's aggregate verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.openset import OpenSetCalibration
from ..classify.predict import load_classifier, predict_frame
from ..classify.tiles import DEFAULT_TILES
from ..errors import DatasetError
from .evaluate import get_calibration, open_run_dataset


def predict_images(
    run: str | Path,
    target: str | Path,
    top_k: int = 3,
    device: str = "cpu",
    openset_method: str | None = None,
    tiles: int = DEFAULT_TILES,
) -> dict[str, Any]:
    """Top-k classes per image of a file or folder, plus the folder's aggregated verdict.

    Each image is scored on a ``tiles x tiles`` grid of crops (averaged; 1 = centre crop only).

    The folder verdict (images assumed to come from one source) is the class of highest mean
    log-probability. Unreadable files are skipped with a warning. The open-set verdict ``unknown``
    uses the run's calibration (computed on the val split on first use) when the run's dataset is
    still available; otherwise it is omitted.

    Raises
    ------
    DatasetError
        On: "not an image file (…)"; or "image or folder not found: …".
    """
    from ..io.images import IMAGE_SUFFIXES, list_images

    run, target = Path(run), Path(target)
    clf = load_classifier(run, device)
    if target.is_dir():
        files = list_images(target)
    elif target.is_file():
        if target.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(f"{target}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
        files = [target]
    else:
        raise DatasetError(f"image or folder not found: {target}")
    frame = pd.DataFrame({"path": [str(f.resolve()) for f in files]})
    pred = predict_frame(clf, Path("/"), frame, device=device, skip_errors=True, tiles=tiles)
    cal: OpenSetCalibration | None = None
    try:
        cal = get_calibration(clf, open_run_dataset(run), device, tiles=tiles)
    except (DatasetError, OSError) as exc:
        import warnings

        warnings.warn(f"no open-set verdict ({exc})", stacklevel=2)
    k = max(1, min(top_k, len(clf.classes)))
    unknown = (
        cal.is_unknown(pred.probs, pred.features, openset_method) if cal else np.zeros(len(pred.paths), bool)
    )
    score = cal.score(pred.probs, pred.features, openset_method) if cal else np.full(len(pred.paths), np.nan)
    images = []
    for i, path in enumerate(pred.paths):
        order = np.argsort(-pred.probs[i])[:k]
        images.append(
            {
                "path": path,
                "top": [{"class": clf.classes[j], "prob": float(pred.probs[i, j])} for j in order],
                "verdict": "unknown" if unknown[i] else clf.classes[int(order[0])],
                "known_score": float(score[i]),
            }
        )
    logp = np.log(np.clip(pred.probs, 1e-12, 1)).mean(0)
    order = np.argsort(-logp)[:k]
    agg: dict[str, Any] = {
        "n": len(pred.paths),
        "top": [{"class": clf.classes[j], "mean_log_prob": float(logp[j])} for j in order],
    }
    if cal is not None:
        method = openset_method or cal.method
        agg["known_score"] = float(np.mean(score))
        agg["verdict"] = "unknown" if np.mean(score) < cal.thresholds[method] else clf.classes[int(order[0])]
    else:
        agg["verdict"] = clf.classes[int(order[0])]
    return {
        "run": str(run),
        "label": clf.meta.get("label"),
        "tiles": tiles,
        "images": images,
        "aggregate": agg,
        "skipped": pred.skipped,
    }


def confirm_by_inversion(result: dict[str, Any], zoos: list[Path], *, device: str = "cpu") -> dict[str, Any]:
    """Add each image's ``confirmed`` verdict to a :func:`predict_images` result, by model inversion.

    Each image's top-k classes are inverted first (:func:`~.trace.trace_image` with ``propose``); when
    none of them is confirmed, every other candidate of ``zoos`` is inverted too.

    Parameters
    ----------
    result : dict
        A :func:`predict_images` result (changed in place and returned).
    zoos : list of Path
        Zoo folders with the candidates' weights.
    device : str
        The resolved torch device the candidates run on.

    Returns
    -------
    dict
        ``result``, each image with ``confirmed`` (verdict, model, explanation, route) or None.

    Raises
    ------
    SrprintError
        If a zoo folder is missing or empty, or nothing could be traced.
    """
    from .trace_batch import trace_files, zoo_entries

    shortlists = {im["path"]: {t["class"] for t in im["top"]} for im in result["images"]}
    traced = trace_files([Path(p) for p in shortlists], zoo_entries(list(zoos)), shortlists=shortlists,
                         device=device)
    by_path = {t["path"]: t for t in traced["images"]}
    for im in result["images"]:
        t = by_path.get(im["path"])
        im["confirmed"] = ({"verdict": t["verdict"], "model": t.get("model"), "explanation": t["explanation"],
                            "route": t.get("path_taken"), "inverted": t.get("inverted")} if t else None)
    return result


def shortlists(run: str | Path, files: list[Path], *, top: int, device: str = "cpu") -> dict[str, set[str]]:
    """The classifier's ``top`` classes of each file: the candidates a trace inverts first.

    Parameters
    ----------
    run : str or Path
        An attribution classifier run folder.
    files : list of Path
        Image files.
    top : int
        How many classes to keep per file.
    device : str
        The resolved torch device of the classifier.

    Returns
    -------
    dict
        File path (as given) -> the set of its top class names.

    Raises
    ------
    DatasetError
        If a file is not an image (see :func:`predict_images`).
    """
    out: dict[str, set[str]] = {}
    for f in files:
        res = predict_images(run, f, top_k=top, device=device)
        for im in res["images"]:
            out[str(f)] = {t["class"] for t in im["top"]}
    return out
