from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srprint.errors import DatasetError
from srprint.io.images import read_image
from srprint.render.corpus import CORPUS_MANIFEST, Corpus, PrepareConfig, prepare_corpus, prepare_image, tile_image


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(seed)
    img = np.stack([np.sin(6 * xx + seed), np.cos(5 * yy), xx * yy], axis=2) * 0.4 + 0.5
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)


def _save(path: Path, arr: np.ndarray, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray((arr * 255).round().astype(np.uint8))
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path)


def test_prepare_shrinks_long_side_never_upscales_and_names_deterministically(tmp_path: Path) -> None:
    src = tmp_path / "Set9"
    _save(src / "big.png", _photo(100, 200))
    _save(src / "small.jpg", _photo(30, 40, 1))
    out = tmp_path / "corpus"
    c = prepare_corpus([str(src)], out, PrepareConfig(long_side=64, blur_sigma=0.5))
    assert [im.image_id for im in c.images] == ["Set9_big", "Set9_small"]
    assert (read_image(out / "Set9_big.png").shape, read_image(out / "Set9_small.png").shape) == (
        (32, 64, 3), (30, 40, 3))
    with Image.open(out / "Set9_big.png") as im:
        assert im.mode == "RGB" and im.format == "PNG"
    man = json.loads((out / CORPUS_MANIFEST).read_text())
    assert man["n_images"] == 2 and man["images"][0]["width"] == 64 and man["config"]["long_side"] == 64
    # the recipe: blur, then antialiased bicubic
    expected = prepare_image(read_image(src / "big.png"), 64, 0.5)
    np.testing.assert_allclose(read_image(out / "Set9_big.png"), expected, atol=0.5 / 255 + 1e-6)
    blurred_only = prepare_image(read_image(src / "small.jpg"), 64, 1.0)
    assert np.abs(blurred_only - read_image(src / "small.jpg")).mean() > 1e-3  # the blur is applied
    # rerun is stable; other settings into the same folder are refused
    again = prepare_corpus([str(src)], out, PrepareConfig(long_side=64, blur_sigma=0.5))
    assert again.content_hash == c.content_hash
    with pytest.raises(DatasetError, match="other settings"):
        prepare_corpus([str(src)], out, PrepareConfig(long_side=32))


def test_bad_images_are_skipped_with_one_line_warnings_grey_and_alpha_converted(tmp_path: Path) -> None:
    src = tmp_path / "mixed"
    _save(src / "a_good.png", _photo(40, 50))
    _save(src / "b_grey.png", _photo(40, 50, 2), mode="L")
    _save(src / "c_alpha.png", _photo(40, 50, 3), mode="RGBA")
    _save(src / "d_tiny.png", _photo(8, 8))
    (src / "e_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    out = tmp_path / "corpus"
    with pytest.warns(UserWarning) as record:
        c = prepare_corpus([str(src)], out, PrepareConfig(long_side=960, blur_sigma=0, min_size=16))
    messages = [str(w.message) for w in record]
    assert any("e_corrupt.jpg" in m and "skipped" in m for m in messages)
    assert any("d_tiny.png" in m and "smaller than 16px" in m for m in messages)
    assert any("b_grey.png" in m for m in messages) and any("c_alpha.png" in m for m in messages)
    assert all("\n" not in m for m in messages)
    assert [im.image_id for im in c.images] == ["mixed_a_good", "mixed_b_grey", "mixed_c_alpha"]
    for im in c.images:
        with Image.open(out / im.file) as pil:
            assert pil.mode == "RGB"
    grey = read_image(out / "mixed_b_grey.png")
    assert np.allclose(grey[..., 0], grey[..., 1]) and np.allclose(grey[..., 1], grey[..., 2])


def test_nothing_usable_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "bad"
    src.mkdir()
    (src / "x.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="skipped"), pytest.raises(DatasetError, match="no usable image"):
        prepare_corpus([str(src)], tmp_path / "corpus")
    with pytest.raises(DatasetError, match="not found"):
        prepare_corpus([str(tmp_path / "missing")], tmp_path / "c2")


def test_skimage_pseudo_source_tiles_and_limit(tmp_path: Path) -> None:
    c = prepare_corpus(["skimage:astronaut,chelsea"], tmp_path / "c",
                       PrepareConfig(long_side=960, tile=128, max_tiles=5, min_tile_std=0.03))
    ids = [im.image_id for im in c.images]
    assert len(ids) == 5 + 5 and ids[0].startswith("skimage_astronaut_r") and len(set(ids)) == len(ids)
    assert all((im.width, im.height) == (128, 128) for im in c.images)
    reopened = Corpus.open(tmp_path / "c")
    assert [im.image_id for im in reopened.images] == ids and reopened.content_hash == c.content_hash
    limited = prepare_corpus(["skimage:astronaut"], tmp_path / "l", PrepareConfig(tile=128, limit=3))
    assert len(limited) == 3
    with pytest.raises(DatasetError, match="no bundled photo"):
        prepare_corpus(["skimage:nonexistent"], tmp_path / "n")


def test_tile_image_grid_and_flat_tiles() -> None:
    img = np.zeros((70, 100, 3), np.float32)
    img[:, 50:] = np.random.default_rng(0).random((70, 50, 3))
    tiles = tile_image(img, 32)
    assert [t for t, _ in tiles] == ["r0c0", "r0c1", "r0c2", "r1c0", "r1c1", "r1c2"]
    textured = tile_image(img, 32, min_std=0.05)
    assert [t for t, _ in textured] == ["r0c1", "r0c2", "r1c1", "r1c2"]


def test_plain_image_folder_opens_as_a_corpus(tmp_path: Path) -> None:
    _save(tmp_path / "f" / "sub" / "one.png", _photo(20, 20))
    _save(tmp_path / "f" / "two.png", _photo(20, 20))
    c = Corpus.open(tmp_path / "f")
    assert [im.image_id for im in c.images] == ["sub_one", "two"]
    with pytest.raises(DatasetError, match="corpus folder not found"):
        Corpus.open(tmp_path / "nope")


@pytest.mark.shared
def test_shared_pseudo_source_names_the_set(shared_data: Path, tmp_path: Path) -> None:
    c = prepare_corpus(["shared:Set5"], tmp_path / "c", PrepareConfig(long_side=960))
    assert len(c) == 5 and all(im.image_id.startswith("Set5_") and im.set == "Set5" for im in c.images)
    with pytest.raises(DatasetError, match="no such set"):
        prepare_corpus(["shared:BSDS500/nosplit"], tmp_path / "d")
