"""Crops of an image: reflection padding of small images and the grid of tiles a prediction averages.

NumPy only, no model code: the engine, the evaluation, the parsers and the command-line options all
take :data:`DEFAULT_TILES` from here.
"""

from __future__ import annotations

import numpy as np

from ..errors import SrprintError

# crops per side scored and averaged per image by the user-facing commands (eval, predict, embed,
# parse): on the mini render (64 px crops of 192 px images) 3 x 3 tiles vs the centre crop raised
# accuracy 98.4 -> 99.6 %, JPEG q=90 accuracy 83.8 -> 96.5 % and open-set AUROC 0.941 -> 0.993
DEFAULT_TILES = 3


def describe_tiles(tiles: int) -> str:
    """How an image was scored, for result tables: ``3 x 3 crops (averaged)`` / ``1 x 1 crops (centre crop)``."""
    return f"{tiles} x {tiles} crops" + (" (centre crop)" if tiles == 1 else " (averaged)")


def pad_to(arr: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad (symmetric) an ``(H, W, C)`` image so both sides are at least ``size``."""
    h, w = arr.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if ph == 0 and pw == 0:
        return arr
    return np.pad(arr, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="symmetric")


def tile_positions(length: int, size: int, tiles: int, *, align: int = 1) -> list[int]:
    """Start offsets of ``tiles`` crops of ``size`` spread evenly over ``length`` (1 tile: centred).

    Offsets lie on multiples of ``align`` (as in :func:`srprint.classify.data.crop_array`);
    duplicates are dropped, so a side shorter than ``tiles`` crops yields fewer (at least one).

    Raises
    ------
    SrprintError
        On: "tiles (--tiles) must be at least 1 crop per side; got …".
    """
    if tiles < 1:
        raise SrprintError(f"tiles (--tiles) must be at least 1 crop per side; got {tiles}")
    if tiles == 1 or length <= size:
        return [(length - size) // 2 // align * align]
    span = length - size
    return sorted({int(round(span * k / (tiles - 1))) // align * align for k in range(tiles)})


def tile_crops(arr: np.ndarray, size: int, tiles: int = 1, *, align: int = 1) -> list[np.ndarray]:
    """A ``tiles x tiles`` grid of ``size``-pixel crops spread over an image (padded when small).

    ``tiles=1`` is the centre crop of :func:`srprint.classify.data.crop_array`. With more tiles
    the crops overlap when the image is shorter than ``tiles * size``; the grid always reaches both
    edges.
    """
    arr = pad_to(arr, size)
    h, w = arr.shape[:2]
    return [
        arr[top : top + size, left : left + size]
        for top in tile_positions(h, size, tiles, align=align)
        for left in tile_positions(w, size, tiles, align=align)
    ]
