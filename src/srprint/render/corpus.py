"""The HR render corpus: photos prepared once (blur + antialiased bicubic shrink), with a manifest.

The recipe follows the reference study's "Flickr1K": a light Gaussian blur, then an antialiased
bicubic resize so the long side is at most ``long_side`` pixels (never upscaled), saved as RGB PNG
to hide the source's JPEG artefacts. File names are deterministic: ``<set>_<stem>.png`` where
``<set>`` is the source folder name (or the pseudo-source's set).

Sources (``SRC``) are image files, folders of images (recursive), or pseudo-sources:

* ``skimage:`` / ``skimage:NAME[,NAME]`` scikit-image's bundled colour photographs (no download);
* ``shared:SET`` / ``shared:SET/SPLIT`` a set of the shared data folder (``images.csv``), e.g.
  ``shared:BSDS500/val``;
* ``mini:`` the ``mini`` render corpus, :data:`MINI_CORPUS_SOURCES` (BSDS500 val, Kodak24, Set5, Set14).

``tile`` optionally cuts every prepared photo into non-overlapping ``tile x tile`` crops, each its own
source image (``<id>_r<row>c<col>``); the demo uses it to get many source images out of a few photos.

``corpus.json`` (in the output folder) lists every image: ``image_id``, ``file``, ``width``,
``height``, ``source`` (original path or pseudo-source) and ``set``, plus the preparation settings.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import config_hash, shared_data_dir
from ..errors import DatasetError, ImageError, SrprintError
from ..io.atomic import atomic_write_json
from ..io.images import IMAGE_SUFFIXES, list_images, read_image, skimage_photos, write_png
from ..io.names import MAX_NAME_CHARS, check_name, is_valid_name

CORPUS_MANIFEST = "corpus.json"
CORPUS_VERSION = 1
MINI_CORPUS_SOURCES = ("shared:BSDS500/val", "shared:Kodak24", "shared:Set5", "shared:Set14")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class CorpusWarning(UserWarning):
    """A corpus image was skipped (corrupt, too small, ...)."""


@dataclass
class CorpusImage:
    """One prepared HR photo of a corpus."""

    image_id: str
    file: str  # relative to the corpus root
    width: int
    height: int
    source: str
    set: str


@dataclass
class PrepareConfig:
    """Settings of :func:`prepare_corpus` (recorded in ``corpus.json``)."""

    long_side: int = 960
    blur_sigma: float = 0.5
    tile: int | None = None
    max_tiles: int | None = None
    min_tile_std: float = 0.0
    min_size: int = 16
    limit: int | None = None


@dataclass
class Corpus:
    """A folder of HR photos (a prepared corpus, or any folder of images)."""

    root: Path
    images: list[CorpusImage]
    name: str
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, root: str | Path) -> Corpus:
        """Open a prepared corpus (``corpus.json``), or a plain folder of images (ids = file stems).

        Raises
        ------
        DatasetError
            If the folder is missing, empty, or its manifest is corrupt.
        """
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"corpus folder not found: {root}")
        man = root / CORPUS_MANIFEST
        if man.is_file():
            try:
                data = json.loads(man.read_text())
                images = [CorpusImage(**d) for d in data["images"]]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"{man}: corrupt corpus manifest ({exc})") from exc
            if not images:
                raise DatasetError(f"corpus {root} holds no images")
            for im in images:  # an image id becomes a file name in every render of this corpus
                if not is_valid_name(im.image_id):
                    try:
                        check_name(im.image_id, what="image id", where=str(man))
                    except SrprintError as exc:
                        raise DatasetError(str(exc)) from None
            return cls(root, images, data.get("name") or root.name, data.get("config", {}))
        try:
            files = list_images(root)
        except ImageError as exc:
            raise DatasetError(f"not a corpus: {exc}") from exc
        images, seen = [], set()
        for f in files:
            image_id = _safe_id(f.relative_to(root).with_suffix("").as_posix().replace("/", "_"))
            if image_id in seen:
                raise DatasetError(f"corpus {root}: two images map to the id {image_id!r}")
            seen.add(image_id)
            images.append(CorpusImage(image_id, f.relative_to(root).as_posix(), 0, 0, str(f), root.name))
        return cls(root, images, root.name, {})

    @property
    def content_hash(self) -> str:
        """Hash of the image list and preparation settings (keys render caches)."""
        items = [(im.image_id, im.file, im.width, im.height) for im in self.images]
        return config_hash({"images": items, "config": self.config})

    def path(self, image: CorpusImage) -> Path:
        return self.root / image.file

    def __len__(self) -> int:
        return len(self.images)


def _safe_id(text: str) -> str:
    """A file's image id: a safe name (:func:`srprint.io.names.check_name`) made from its path."""
    return _SAFE.sub("-", text).strip("-._")[:MAX_NAME_CHARS] or "image"


def _shared_set_files(spec: str) -> list[tuple[str, Path]]:
    root = shared_data_dir() / "images"
    manifest = root / "images.csv"
    if not manifest.is_file():
        raise DatasetError(f"shared image manifest not found: {manifest} (set SRPRINT_SHARED)")
    name, _, split = spec.partition("/")
    out = []
    with open(manifest, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["set"] != name:
                continue
            if split and f"/{split}/" not in row["source_path"]:
                continue
            out.append((name, root / row["set"] / row["file"]))
    if not out:
        raise DatasetError(f"shared:{spec}: no such set/split in {manifest}")
    return sorted(out, key=lambda t: t[1].name)


def iter_sources(sources: list[str]) -> Iterator[tuple[str, str, str, Path | np.ndarray]]:
    """Yield ``(set, stem, source, path_or_array)`` for every image named by ``sources``.

    Raises
    ------
    DatasetError
        For a source that does not exist or names nothing.
    """
    expanded: list[str] = []
    for src in sources:
        expanded += list(MINI_CORPUS_SOURCES) if src == "mini:" else [src]
    for src in expanded:
        if src.startswith("skimage:"):
            photos = skimage_photos()
            names = [n for n in src[len("skimage:"):].split(",") if n] or sorted(photos)
            for n in names:
                if n not in photos:
                    avail = ", ".join(sorted(photos))
                    raise DatasetError(f"{src}: no bundled photo {n!r}; available: {avail}")
                yield "skimage", n, f"skimage:{n}", photos[n]
        elif src.startswith("shared:"):
            for set_name, path in _shared_set_files(src[len("shared:"):]):
                yield set_name, path.stem, str(path), path
        else:
            p = Path(src)
            if p.is_dir():
                try:
                    files = list_images(p)
                except ImageError as exc:
                    raise DatasetError(str(exc)) from exc
                for f in files:
                    rel = f.relative_to(p).with_suffix("").as_posix().replace("/", "_")
                    yield p.resolve().name, rel, str(f), f
            elif p.is_file():
                if p.suffix.lower() not in IMAGE_SUFFIXES:
                    warnings.warn(f"{p}: unusual image suffix, trying anyway", CorpusWarning, stacklevel=2)
                yield p.resolve().parent.name, p.stem, str(p), p
            else:
                raise DatasetError(f"corpus source not found: {src}")


def prepare_image(img: np.ndarray, long_side: int, blur_sigma: float) -> np.ndarray:
    """The corpus recipe on one image: Gaussian blur, then antialiased bicubic shrink to ``long_side``."""
    from skimage.filters import gaussian

    if blur_sigma > 0:
        img = gaussian(img, sigma=blur_sigma, channel_axis=-1, mode="reflect", preserve_range=True)
        img = np.clip(img, 0.0, 1.0).astype(np.float32)
    from ..degradation import resize_long_side  # torch: imported once a photo is resized, not to check options

    return resize_long_side(img, long_side)


def tile_image(img: np.ndarray, tile: int, max_tiles: int | None = None,
               *, min_std: float = 0.0) -> list[tuple[str, np.ndarray]]:
    """Non-overlapping centred ``tile x tile`` crops as ``[("r0c1", crop), ...]``.

    Tiles whose standard deviation is below ``min_std`` (flat background) are dropped; with
    ``max_tiles`` an evenly spaced subset is kept (deterministic).
    """
    h, w = img.shape[:2]
    rows, cols = h // tile, w // tile
    top, left = (h - rows * tile) // 2, (w - cols * tile) // 2
    out = []
    for r in range(rows):
        for c in range(cols):
            crop = img[top + r * tile: top + (r + 1) * tile, left + c * tile: left + (c + 1) * tile]
            if min_std and float(crop.std()) < min_std:
                continue
            out.append((f"r{r}c{c}", crop))
    if max_tiles and len(out) > max_tiles:
        keep = np.linspace(0, len(out) - 1, max_tiles).round().astype(int)
        out = [out[i] for i in sorted(set(keep.tolist()))]
    return out


def prepare_corpus(sources: list[str], out: str | Path, config: PrepareConfig | None = None,
                   *, name: str | None = None) -> Corpus:
    """Prepare an HR corpus from image files, folders or pseudo-sources (see module docstring).

    Unreadable or too-small images are skipped with a one-line :class:`CorpusWarning`; grey /
    alpha images are converted to RGB by :func:`srprint.io.images.read_image`. PNGs already in
    ``out`` (from an earlier, identical preparation) are kept, so a rerun is cheap.

    Raises
    ------
    DatasetError
        If no source is given, nothing usable is left, two images get the same id, or ``out``
        holds a corpus prepared with other settings.
    """
    cfg = config or PrepareConfig()
    if not sources:
        raise DatasetError("corpus prepare needs at least one source (file, folder, skimage: or shared:SET)")
    if cfg.long_side < cfg.min_size:
        raise DatasetError(f"--long-side {cfg.long_side} is below the minimum image size {cfg.min_size}")
    out = Path(out)
    man = out / CORPUS_MANIFEST
    settings = {k: v for k, v in asdict(cfg).items() if k != "limit"}
    if man.is_file():
        try:
            old = json.loads(man.read_text()).get("config", {})
        except json.JSONDecodeError:
            old = settings
        if old != settings:
            raise DatasetError(f"{out} holds a corpus prepared with other settings ({old}); "
                               "choose another --out")
    from ..io.outputs import check_output_dir

    check_output_dir(out, kind_marker=CORPUS_MANIFEST)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrprintError(f"cannot create corpus folder {out}: {exc.strerror or exc}") from exc
    try:
        images = _prepare_images(sources, out, cfg)
    except BaseException:
        _remove_if_empty(out, created)  # a refused or interrupted first run leaves no empty folder
        raise
    if not images:
        _remove_if_empty(out, created)
        raise DatasetError(f"no usable image in {', '.join(sources)} (all skipped, see warnings)")
    corpus_name = name or out.name
    atomic_write_json(man, {"version": CORPUS_VERSION, "name": corpus_name, "config": settings,
                            "sources": list(sources), "n_images": len(images),
                            "images": [asdict(im) for im in images]})
    return Corpus(out, images, corpus_name, settings)


def _remove_if_empty(folder: Path, created: bool) -> None:
    if created and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _prepare_images(sources: list[str], out: Path, cfg: PrepareConfig) -> list[CorpusImage]:
    """Read, shrink and write every source image into ``out`` (bad files skipped with a warning)."""
    images: list[CorpusImage] = []
    seen: dict[str, str] = {}
    for set_name, stem, source, item in iter_sources(list(sources)):
        if cfg.limit and len(images) >= cfg.limit:
            break
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                img = item if isinstance(item, np.ndarray) else read_image(item)
            for w in caught:
                warnings.warn(str(w.message), CorpusWarning, stacklevel=2)
        except ImageError as exc:
            warnings.warn(f"skipped {exc}", CorpusWarning, stacklevel=2)
            continue
        if min(img.shape[:2]) < cfg.min_size:
            warnings.warn(f"skipped {source}: {img.shape[1]}x{img.shape[0]} is smaller than {cfg.min_size}px",
                          CorpusWarning, stacklevel=2)
            continue
        base_id = _safe_id(f"{set_name}_{stem}")
        prepared = prepare_image(img, cfg.long_side, cfg.blur_sigma)
        parts = [("", prepared)]
        if cfg.tile:
            tiles = tile_image(prepared, cfg.tile, cfg.max_tiles, min_std=cfg.min_tile_std)
            parts = [(f"_{t}", crop) for t, crop in tiles]
            if not parts:
                warnings.warn(f"skipped {source}: no {cfg.tile}x{cfg.tile} tile fits (or all are flat)",
                              CorpusWarning, stacklevel=2)
                continue
        for suffix, arr in parts:
            if cfg.limit and len(images) >= cfg.limit:
                break
            image_id = base_id + suffix
            if image_id in seen:
                raise DatasetError(f"two sources map to the image id {image_id!r}: {seen[image_id]} and "
                                   f"{source}")
            seen[image_id] = source
            file = f"{image_id}.png"
            target = out / file
            if not png_ok(target, arr.shape[1], arr.shape[0]):
                try:
                    write_png(target, arr)
                except OSError as exc:
                    raise SrprintError(f"cannot write {target}: {exc.strerror or exc}") from exc
            images.append(CorpusImage(image_id, file, int(arr.shape[1]), int(arr.shape[0]), source, set_name))
    return images


def png_ok(path: Path, width: int, height: int) -> bool:
    """Whether ``path`` is an intact PNG of the given size (header + chunk CRCs checked, no full decode)."""
    from PIL import Image

    if not path.is_file():
        return False
    try:
        with Image.open(path) as im:
            ok = im.format == "PNG" and im.size == (width, height)
            im.verify()
        return ok
    except Exception:  # noqa: BLE001 - any decoding problem means "re-render"
        return False
