"""One image I/O module: decode, EXIF-orient, convert any mode to RGB float, clear errors.

Arrays are ``float32`` of shape ``(H, W, 3)`` in ``[0, 1]`` unless stated otherwise.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError
from .atomic import atomic_write_bytes
from .outputs import check_input_file

DEFAULT_MAX_PIXELS = 64_000_000  # 8000 x 8000; SRPRINT_MAX_PIXELS raises it
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".avif")
# what a decoder raises on corrupt data: Pillow's own checks, and its AVIF decoder's RuntimeError
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, RuntimeError, EOFError)


class ImageModeWarning(UserWarning):
    """An image was converted from a non-RGB mode (grey, alpha, 16-bit, palette, CMYK)."""


def _to_rgb_float(img: Image.Image, path: str) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise ImageError(f"{path}: {bad} of {arr.size} pixels are not finite numbers (NaN or infinity)")
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        if mode == "F":
            peak = max(float(arr.max()), 1.0)
        grey = np.clip(arr / peak, 0, 1).astype(np.float32)
        warnings.warn(f"{path}: {mode} image converted to 8-bit-equivalent RGB", ImageModeWarning, stacklevel=3)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode != "RGB":
        if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
            # Composite on white so transparent regions do not turn black.
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, rgba).convert("RGB")
            warnings.warn(f"{path}: alpha channel dropped (composited on white)", ImageModeWarning, stacklevel=3)
        else:
            img = img.convert("RGB")
            if mode != "P":
                warnings.warn(f"{path}: {mode} image converted to RGB", ImageModeWarning, stacklevel=3)
    arr = np.asarray(img)
    if arr.dtype == np.uint16:
        return (arr.astype(np.float32) / 65535.0).clip(0, 1)
    return arr.astype(np.float32) / 255.0


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB float32 ``(H, W, 3)`` in ``[0, 1]``.

    Parameters
    ----------
    path : str or Path
        Any format Pillow decodes. Grey, alpha, palette, CMYK and 16-bit images are converted to RGB
        with an :class:`ImageModeWarning`; EXIF orientation is applied.

    Raises
    ------
    ImageError
        Missing, unreadable, truncated or zero-sized files (one-line message naming the file).
    """
    p = Path(path)
    if not p.exists():
        raise ImageError(f"image not found: {p}")
    if p.is_dir():
        raise ImageError(f"expected an image file, got a directory: {p}")
    check_input_file(p, what="image")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read {p}: {exc.strerror or exc}") from exc
    return decode_image(data, str(p))


def _has_16bit_samples(img: Image.Image) -> bool:
    """True for a 16-bit-per-channel colour file, which Pillow decodes to 8 bits per channel."""
    return any(";16" in str(getattr(tile, "args", None) or "") for tile in getattr(img, "tile", None) or [])


def max_pixels() -> int:
    """Largest image (width x height) srprint decodes: ``$SRPRINT_MAX_PIXELS`` or 64 megapixels.

    Raises
    ------
    EnvError
        If ``SRPRINT_MAX_PIXELS`` is not a positive integer.
    """
    from .env import env_number

    return int(env_number("SRPRINT_MAX_PIXELS", DEFAULT_MAX_PIXELS, integer=True, minimum=1))


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes; see :func:`read_image`.

    Raises
    ------
    ImageError
        Empty, unrecognised, truncated or corrupt data, or an image larger than :func:`max_pixels`
        (checked on the header, before anything is decoded: a decompression bomb costs nothing).
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    limit = max_pixels()
    Image.MAX_IMAGE_PIXELS = limit  # Pillow's own bomb check agrees with ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img_file = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: image is over the limit of {limit} pixels, a possible decompression bomb "
                         "(set SRPRINT_MAX_PIXELS to raise it)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not a recognised image file") from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from exc
    width, height = img_file.size
    if width * height > limit:
        img_file.close()
        raise ImageError(f"{name}: image of {width}x{height} is over the limit of {limit} pixels "
                         "(set SRPRINT_MAX_PIXELS to raise it)")
    if img_file.mode in ("RGB", "RGBA") and _has_16bit_samples(img_file):
        warnings.warn(f"{name}: 16-bit image read as 8-bit (precision below 1/255 is lost)",
                      ImageModeWarning, stacklevel=2)
    try:
        with img_file as img:
            img.load()  # force full decode so truncation is detected here
            img = ImageOps.exif_transpose(img)
            if img.width == 0 or img.height == 0:
                raise ImageError(f"{name}: zero-sized image")
            return _to_rgb_float(img, name)
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not a recognised image file") from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from exc


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """Quantise a float image in ``[0, 1]`` to uint8 with rounding (the one quantiser used everywhere)."""
    return np.clip(np.round(np.asarray(arr, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def rgb_to_luma(img: np.ndarray) -> np.ndarray:
    """Full-range ITU-R BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of an RGB image.

    Parameters
    ----------
    img : numpy.ndarray
        RGB image ``(..., 3)``, channels last (any value range; float images are usually ``[0, 1]``).

    Returns
    -------
    numpy.ndarray
        Luma ``(...)`` in the range of ``img`` (``Y = 1`` for white in ``[0, 1]``), computed in
        ``img``'s floating dtype (float64 for integer input).

    Notes
    -----
    Not the studio-swing ``[16/255, 235/255]`` Y of MATLAB ``rgb2ycbcr`` used for SR PSNR / SSIM
    (that is :func:`srprint.zoo.quality.rgb_to_y`).
    """
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


def encode_png(arr: np.ndarray) -> bytes:
    """Encode an RGB float ``[0,1]`` or uint8 array as PNG bytes (deterministic, no metadata)."""
    a = arr if arr.dtype == np.uint8 else to_uint8(arr)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    buf = io.BytesIO()
    Image.fromarray(a, mode="RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_png(path: str | Path, arr: np.ndarray) -> None:
    """Atomically write an RGB image as PNG."""
    atomic_write_bytes(path, encode_png(arr))


def list_images(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Sorted image files below ``folder``; errors if it is missing or holds none.

    Files whose name is not valid UTF-8 are skipped with a warning (they cannot be named in a
    manifest or a JSON result).

    Raises
    ------
    ImageError
        If ``folder`` does not exist, is not a directory, or contains no image files.
    """
    root = Path(folder)
    if not root.exists():
        raise ImageError(f"image folder not found: {root}")
    if not root.is_dir():
        raise ImageError(f"expected an image folder, got a file: {root}")
    it: Iterable[Path] = root.rglob("*") if recursive else root.iterdir()
    files = []
    for p in it:
        if not (p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()):
            continue
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:  # manifests, tables and JSON hold names as UTF-8 text
            shown = os.fsencode(p).decode("utf-8", "backslashreplace")
            warnings.warn(f"skipped {shown}: file name is not valid UTF-8; rename it", UserWarning,
                          stacklevel=2)
            continue
        files.append(p)
    files.sort()
    if not files:
        raise ImageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {root}")
    return files


def center_crop(arr: np.ndarray, size: int, multiple: int = 1) -> np.ndarray:
    """Deterministic centre crop of ``size x size`` (rounded down to ``multiple``).

    Raises
    ------
    ImageError
        If the image is smaller than the crop.
    """
    size = (size // multiple) * multiple
    h, w = arr.shape[:2]
    if h < size or w < size:
        raise ImageError(f"image of {w}x{h} is smaller than the {size}x{size} crop")
    top, left = (h - size) // 2, (w - size) // 2
    return arr[top : top + size, left : left + size]


def crop_to_multiple(arr: np.ndarray, multiple: int) -> np.ndarray:
    """Crop bottom/right so both sides are divisible by ``multiple`` (standard SR 'mod crop')."""
    h, w = arr.shape[:2]
    return arr[: h - h % multiple, : w - w % multiple]


def skimage_photos() -> dict[str, np.ndarray]:
    """The colour photographs bundled inside scikit-image (no download), as RGB float arrays.

    Used by the demo and by tests; every file here ships in the scikit-image wheel.

    Raises
    ------
    ImageError
        On: "scikit-image's bundled photographs are unavailable".
    """
    from skimage import data

    names = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "retina"]
    out: dict[str, np.ndarray] = {}
    for name in names:
        try:
            img = getattr(data, name)()
        except Exception:  # noqa: BLE001 - a missing optional image is fine, others remain
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            out[name] = img[..., :3].astype(np.float32) / 255.0
    if not out:
        raise ImageError("scikit-image's bundled photographs are unavailable")
    return out
