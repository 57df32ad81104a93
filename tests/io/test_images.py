from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srprint.errors import ImageError
from srprint.io.images import (
    ImageModeWarning,
    center_crop,
    decode_image,
    list_images,
    read_image,
    to_uint8,
    write_png,
)


def test_png_round_trip_is_exact_for_8bit_values(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).integers(0, 256, (7, 9, 3)).astype(np.float32) / 255
    write_png(tmp_path / "a.png", arr)
    back = read_image(tmp_path / "a.png")
    assert back.shape == (7, 9, 3) and back.dtype == np.float32
    assert np.array_equal(to_uint8(back), to_uint8(arr))


def test_grey_image_becomes_rgb_with_a_warning(tmp_path: Path) -> None:
    Image.fromarray(np.full((5, 6), 128, np.uint8), mode="L").save(tmp_path / "g.png")
    with pytest.warns(ImageModeWarning, match="g.png"):
        arr = read_image(tmp_path / "g.png")
    assert arr.shape == (5, 6, 3) and np.allclose(arr, 128 / 255)


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent -> white
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    with pytest.warns(ImageModeWarning, match="alpha"):
        arr = read_image(tmp_path / "a.png")
    assert np.allclose(arr, 1.0)


def test_16bit_image_is_scaled_to_unit_range(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 3), 65535, np.uint16)).save(tmp_path / "w.png")
    with pytest.warns(ImageModeWarning):
        arr = read_image(tmp_path / "w.png")
    assert np.allclose(arr, 1.0)


def test_truncated_missing_empty_and_directory_inputs_give_one_line_errors(tmp_path: Path) -> None:
    write_png(tmp_path / "ok.png", np.random.default_rng(1).random((32, 32, 3)))
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    cases = {"trunc.png": "corrupt or truncated", "empty.png": "empty", "text.png": "not a recognised",
             "missing.png": "not found", "": "directory"}
    for name, msg in cases.items():
        with pytest.raises(ImageError, match=msg) as exc:
            read_image(tmp_path / name)
        assert "\n" not in str(exc.value)
    with pytest.raises(ImageError):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "x.png")


def test_list_images_errors_on_missing_or_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        list_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="no images"):
        list_images(tmp_path / "empty")
    write_png(tmp_path / "sub" / "b.png", np.zeros((2, 2, 3)))
    write_png(tmp_path / "sub" / "a.png", np.zeros((2, 2, 3)))
    (tmp_path / "sub" / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path / "sub")] == ["a.png", "b.png"]


def test_center_crop_is_centred_divisible_and_refuses_small_images() -> None:
    arr = np.arange(10 * 12).reshape(10, 12, 1).repeat(3, 2).astype(np.float32)
    c = center_crop(arr, 7, multiple=2)
    assert c.shape == (6, 6, 3)
    assert c[0, 0, 0] == arr[2, 3, 0]
    with pytest.raises(ImageError, match="smaller than"):
        center_crop(arr, 11)
