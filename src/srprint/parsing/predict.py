"""``srprint parse predict``: one held-out parser's prediction for an image or a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..classify.tiles import DEFAULT_TILES
from ..errors import SrprintError


def predict_images(
    run: str | Path, target: str | Path, device: str = "cpu", tiles: int = DEFAULT_TILES
) -> dict[str, Any]:
    """Predictions of a parser run for one image or every image of a folder (unreadable ones skipped),
    plus the folder's aggregate (mean probability and majority vote). Each image is scored on
    ``tiles x tiles`` crops.

    Raises
    ------
    SrprintError
        If ``target`` is neither an image file nor a folder.
    """
    from ..classify.predict import load_classifier, predict_frame
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
