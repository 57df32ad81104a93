"""Named training sets of HR photographs, and the seeded patch sampler used by the trainer.

Built-in names:

* ``bsds``    BSDS500 train + test (400 photos) from the shared data folder;
* ``photos``  SunHays80 + Urban100 + LIVE1 + McMaster from the shared data folder;
* ``skimage`` the colour photographs bundled in scikit-image (demo; ``coffee`` held out);
* ``div2k``, ``flickr2k``, ... any other name: the folder ``$SRPRINT_HOME/datasets/NAME`` or the
  folder in ``$SRPRINT_DATASET_<NAME>`` (upper-case, '-' -> '_');
* ``quarter-NAME`` a deterministic quarter of NAME (the study's "1/4 DIV2K").

The render corpus (BSDS500 ``val``, Kodak24, Set5, Set14) is never part of a training set.
"""

from __future__ import annotations

import csv
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import shared_data_dir, srprint_home
from ..degradation import bicubic_downscale
from ..errors import DatasetError
from ..io.images import list_images, read_image, skimage_photos, to_uint8

SKIMAGE_HOLDOUT = "coffee"
PHOTO_SETS = ("SunHays80", "Urban100", "LIVE1", "McMaster")


@dataclass
class TrainingSet:
    name: str
    images: list[np.ndarray]  # uint8 (H, W, 3)
    sources: list[str]

    def describe(self) -> dict[str, object]:
        digest = hashlib.sha256("\n".join(self.sources).encode()).hexdigest()[:12]
        return {"name": self.name, "n_images": len(self.images), "sources_sha": digest}


def shared_images(sets: tuple[str, ...], splits: tuple[str, ...] | None = None) -> list[Path]:
    """Image files of the shared data folder (``$SRPRINT_SHARED/images``), from its ``images.csv``.

    Parameters
    ----------
    sets : tuple of str
        Image sets to keep (the manifest's ``set`` column, e.g. ``("BSDS500",)``).
    splits : tuple of str, optional
        Keep only rows whose ``source_path`` contains ``/<split>/`` for one of these (e.g. ``("val",)``);
        ``None`` keeps every split.

    Returns
    -------
    list of pathlib.Path
        The matching files, sorted.

    Raises
    ------
    DatasetError
        If the manifest is missing or nothing matches.
    """
    root = shared_data_dir() / "images"
    manifest = root / "images.csv"
    if not manifest.is_file():
        raise DatasetError(f"shared image manifest not found: {manifest} (set SRPRINT_SHARED)")
    out = []
    with open(manifest, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["set"] not in sets:
                continue
            if splits is not None and not any(f"/{s}/" in row["source_path"] for s in splits):
                continue
            out.append(root / row["set"] / row["file"])
    if not out:
        raise DatasetError(f"no shared images for sets {sets} in {manifest}")
    return sorted(out)


def dataset_files(name: str, extra: dict[str, str] | None = None) -> list[Path] | None:
    """Image files of training set ``name`` (``None`` for the in-memory ``skimage`` set).

    Raises
    ------
    DatasetError
        On: "quarter-skimage is not supported (too few images)"; or "training set … not found: put its HR images
        in … or set SRPRINT_DATASET_…".
    """
    extra = extra or {}
    if name.startswith("quarter-"):
        files = dataset_files(name[len("quarter-") :], extra)
        if files is None:
            raise DatasetError("quarter-skimage is not supported (too few images)")
        return quarter_subset(files)
    if name in extra:
        return list_images(extra[name])
    if name == "skimage":
        return None
    if name == "bsds":
        return shared_images(("BSDS500",), ("train", "test"))
    if name == "photos":
        return shared_images(PHOTO_SETS)
    env = os.environ.get("SRPRINT_DATASET_" + name.upper().replace("-", "_").replace(".", "_"))
    folder = Path(env) if env else srprint_home() / "datasets" / name
    if not folder.is_dir():
        raise DatasetError(
            f"training set {name!r} not found: put its HR images in {folder} or set "
            f"SRPRINT_DATASET_{name.upper().replace('-', '_')}"
        )
    return list_images(folder)


def quarter_subset(files: list[Path]) -> list[Path]:
    """Deterministic quarter: every 4th file of the sorted list (stable, independent of seeds).

    Raises
    ------
    DatasetError
        On: "training set too small for a quarter subset".
    """
    files = sorted(files)
    sub = files[::4]
    if not sub:
        raise DatasetError("training set too small for a quarter subset")
    return sub


def load_training_set(name: str, min_size: int, extra: dict[str, str] | None = None) -> TrainingSet:
    """Load a training set as uint8 arrays; images smaller than ``min_size`` are skipped with a warning.

    Raises
    ------
    DatasetError
        If no image is left, or the set does not exist.
    ImageError
        If an image is unreadable (the message names it).
    """
    files = dataset_files(name, extra)
    if files is None:
        photos = {k: v for k, v in skimage_photos().items() if k != SKIMAGE_HOLDOUT}
        items = [(f"skimage:{k}", v) for k, v in sorted(photos.items())]
    else:
        items = [(str(f), read_image(f)) for f in files]
    images, sources = [], []
    for src, img in items:
        if min(img.shape[:2]) < min_size:
            warnings.warn(
                f"{src}: {img.shape[1]}x{img.shape[0]} is smaller than the {min_size}px crop, skipped", stacklevel=2
            )
            continue
        images.append(to_uint8(img))
        sources.append(src)
    if not images:
        raise DatasetError(f"training set {name!r}: no image is at least {min_size}x{min_size}")
    return TrainingSet(name, images, sources)


def sample_batch(
    ts: TrainingSet, scale: int, hr_patch: int, *, batch_size: int, seed: int, iteration: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (LR, HR) batch for one iteration: random HR crops, flips, 90-degree rotations.

    Depends only on ``(seed, iteration)``, so a resumed run samples exactly what an uninterrupted
    one would.

    Raises
    ------
    DatasetError
        On: "HR patch … is not divisible by scale …".
    """
    g = np.random.default_rng([seed, iteration])
    if hr_patch % scale:
        raise DatasetError(f"HR patch {hr_patch} is not divisible by scale {scale}")
    crops = []
    for _ in range(batch_size):
        img = ts.images[int(g.integers(len(ts.images)))]
        h, w = img.shape[:2]
        top, left = int(g.integers(h - hr_patch + 1)), int(g.integers(w - hr_patch + 1))
        crop = img[top : top + hr_patch, left : left + hr_patch]
        if g.random() < 0.5:
            crop = crop[:, ::-1]
        if g.random() < 0.5:
            crop = crop[::-1]
        crop = np.rot90(crop, int(g.integers(4)))
        crops.append(np.ascontiguousarray(crop))
    hr = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    lr = bicubic_downscale(hr, scale, quantize=True)
    return lr, hr


def eval_images(eval_set: str) -> list[tuple[str, np.ndarray]]:
    """Held-out photos for the PSNR recorded in each model's record.

    ``set5`` (shared Set5) or ``skimage-holdout`` (scikit-image's ``coffee``, never trained on).
    """
    if eval_set == "skimage-holdout":
        return [(SKIMAGE_HOLDOUT, skimage_photos()[SKIMAGE_HOLDOUT])]
    if eval_set == "set5":
        files = shared_images(("Set5",))
        return [(f.stem, read_image(f)) for f in files]
    folder = Path(eval_set)
    return [(f.stem, read_image(f)) for f in list_images(folder)]
