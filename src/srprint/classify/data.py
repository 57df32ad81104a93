"""The classifier engine's data: crops of rendered images, and the dataset that decodes and caches them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import DatasetError
from ..io.images import read_image, to_uint8
from .tiles import pad_to

# decoded uint8 images a dataset keeps in memory: a byte budget, not an image count, so a render of
# large images cannot exhaust RAM (1 GiB holds about 9700 192 px images; the rest are re-read)
DECODED_CACHE_BYTES = 1 << 30


def crop_array(arr: np.ndarray, size: int, rng: np.random.Generator | None, *, align: int = 1) -> np.ndarray:
    """Random crop (``rng`` given) or centre crop of ``size x size``, padding small images first.

    With ``align > 1`` the crop's corner lies on multiples of ``align`` (8: the JPEG block grid, which
    is also a multiple of every SR scale's period), so periodic traces keep one phase in every crop.
    """
    arr = pad_to(arr, size)
    h, w = arr.shape[:2]
    if rng is None:
        top, left = (h - size) // 2 // align * align, (w - size) // 2 // align * align
    else:
        top = int(rng.integers(0, (h - size) // align + 1)) * align
        left = int(rng.integers(0, (w - size) // align + 1)) * align
    return arr[top : top + size, left : left + size]


def to_input(batch: np.ndarray) -> torch.Tensor:
    """uint8/float ``(B, H, W, 3)`` crops -> normalised ``(B, 3, H, W)`` float tensor in ``[-1, 1]``."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
    if batch.dtype == np.uint8:
        x = x / 255.0
    return x * 2.0 - 1.0


class CropDataset(torch.utils.data.Dataset):
    """Images of a frame, cropped: random crops seeded by ``(seed, epoch, index)`` or centre crops.

    ``transform`` (float image -> float image) is applied before cropping (robustness tests).
    With ``cache``, decoded images are kept until ``cache_bytes`` (default
    :data:`DECODED_CACHE_BYTES`) are used.
    """

    def __init__(
        self,
        root: Path,
        paths: list[str],
        targets: list[int],
        crop: int,
        train: bool,
        seed: int = 0,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        cache: bool = False,
        cache_bytes: int | None = None,
        jpeg_augment: float = 0.0,
        jpeg_quality_min: int = 65,
        align: int = 1,
    ) -> None:
        self.root, self.paths, self.targets = Path(root), paths, targets
        self.crop, self.train, self.seed, self.transform = crop, train, seed, transform
        self.jpeg_augment, self.jpeg_quality_min, self.align = jpeg_augment, jpeg_quality_min, align
        self.epoch = 0
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        self._cache_free = DECODED_CACHE_BYTES if cache_bytes is None else int(cache_bytes)

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = read_image(self.root / self.paths[i])
        if self.transform is not None:
            img = self.transform(img)
        img = to_uint8(img)
        if self._cache is not None and img.nbytes <= self._cache_free:
            self._cache[i] = img
            self._cache_free -= img.nbytes
        return img

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        img = self.load(i)
        if rng is not None and self.jpeg_augment > 0 and rng.random() < self.jpeg_augment:
            from .perturb import jpeg

            img = to_uint8(jpeg(img, int(rng.integers(self.jpeg_quality_min, 101))))
        return crop_array(img, self.crop, rng, align=self.align), self.targets[i]


def collate(items: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    return to_input(np.stack([a for a, _ in items])), torch.tensor([t for _, t in items], dtype=torch.long)


def labels_of(df: pd.DataFrame, label: str) -> list[str]:
    if label not in df.columns:
        raise DatasetError(f"label column {label!r} not in the manifest; columns: {', '.join(df.columns)}")
    return [str(v) for v in df[label].tolist()]


def cap_per_class(df: pd.DataFrame, label: str, cap: int | None, *, seed: int) -> pd.DataFrame:
    if not cap:
        return df
    parts = [g.sample(n=min(cap, len(g)), random_state=seed) for _, g in df.groupby(df[label].astype(str))]
    return pd.concat(parts).sort_index()
