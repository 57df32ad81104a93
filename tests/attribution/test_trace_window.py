"""The pixel path's window (srprint.attribution.trace_window): the crop the bicubic reference finds hardest."""

import numpy as np
import pytest

from srprint.attribution import trace as tr
from srprint.attribution.trace_window import centre_crop, pixel_window, region_side, textured_window
from srprint.io.images import skimage_photos


def _half_textured(side=64, textured_corner=(32, 0)):
    """A flat grey image with one ``side // 2`` textured square (a photo crop) at ``textured_corner``."""
    img = np.full((side, side, 3), 0.5, dtype=np.float32)
    y0, x0 = textured_corner
    h = side // 2
    img[y0:y0 + h, x0:x0 + h] = skimage_photos()["astronaut"][100:100 + h, 200:200 + h, :3]
    return img


def _offset(win, img):
    """``(y0, x0)`` of a view ``win`` inside ``img``."""
    assert np.shares_memory(win, img)
    off = win.__array_interface__["data"][0] - img.__array_interface__["data"][0]
    return divmod(off // img.strides[1], img.shape[1])


def test_textured_window_finds_the_textured_square_on_the_scale_grid():
    img = _half_textured()
    for scale in (2, 4):
        win = textured_window(img, 32, scale)
        assert win.shape == (32, 32, 3)
        # the window is the textured square itself (its offset is on every scale's grid)
        np.testing.assert_array_equal(win, img[32:64, 0:32])
    # at x3 the window lies on the x3 grid, in the textured half
    win3 = textured_window(img, 30, 3)
    y0, x0 = _offset(win3, img)
    assert win3.shape == (30, 30, 3) and y0 % 3 == 0 and x0 % 3 == 0 and y0 >= 27


def test_flat_image_keeps_the_centre_and_small_images_are_whole():
    flat = np.full((64, 64, 3), 0.25, dtype=np.float32)
    np.testing.assert_array_equal(textured_window(flat, 32, 2), centre_crop(flat, 32, 2))
    assert textured_window(flat, 32, 2).shape == (32, 32, 3)
    small = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32)
    assert textured_window(small, 32, 2).shape == (20, 24, 3)


def test_pixel_window_rules_and_region_side():
    img = _half_textured(side=96, textured_corner=(0, 0))  # a 48-px textured square at the top left
    assert region_side(img.shape, 32, 2) == 64
    assert region_side((40, 90, 3), 32, 3) == 39  # a smaller image: its own side on the scale grid
    # the rule searches only the centred 64-px region (16..80): the window stays in it, on the square's side
    y0, x0 = _offset(pixel_window(img, 32, 2, "textured"), img)
    assert 16 <= y0 <= 32 and 16 <= x0 <= 32 and y0 + x0 < 64 and y0 % 2 == 0 == x0 % 2
    np.testing.assert_array_equal(pixel_window(img, 32, 2, "centre"), centre_crop(img, 32, 2))
    with pytest.raises(ValueError, match="unknown trace window"):
        pixel_window(img, 32, 2, "best")
    with pytest.raises(Exception, match="bad trace settings"):
        tr.TraceSettings(window="best")


def test_calibration_key_names_the_window_and_its_region():
    centre, textured = tr.TraceSettings(window="centre"), tr.TraceSettings()
    assert textured.window == "textured"  # the default since the dev measurement
    assert centre.pixel_key(96) == {"settings": centre.key()}  # the centre rule's caches keep their keys
    assert textured.pixel_key(96) != textured.pixel_key(64)
    assert textured.key() == centre.key()  # the JPEG path's keys do not move


def test_decide_names_below_alpha_times_the_pixel_level():
    rows = [{"id": "a", "residual": 1e-6, "ratio": 0.01, "p_value": 1e-4, "null_min": 0.5},
            {"id": "b", "residual": 1e-5, "ratio": 0.4, "p_value": 0.3, "null_min": 0.5}]
    assert tr.decide(rows, 1e-3)["model"] == "a"  # the level alpha alone
    out = tr.decide(rows, 1e-3, level=tr.TraceSettings().pixel_level)  # the library's: 1e-5
    assert out["verdict"] == "none of these models" and "level 1e-05" in out["explanation"]
    rows[0]["p_value"] = 1e-7
    assert tr.decide(rows, 1e-3, level=1e-2)["model"] == "a"


def test_a_reproduced_but_unnamed_image_says_it_holds_too_little_detail():
    from srprint.attribution.inversion import QUANT_FLOOR

    row = {"id": "a", "residual": 1.1 * QUANT_FLOOR, "ratio": 0.5, "p_value": 0.2, "null_min": 0.3}
    out = tr.decide([row], 1e-3)
    assert out["verdict"] == "none of these models" and out["uninformative"]
    assert "too little detail" in out["explanation"] and "within 2x" in out["explanation"]
    row["residual"] = 5 * QUANT_FLOOR  # far from the floor: the plain answer
    out = tr.decide([row], 1e-3)
    assert "uninformative" not in out and "stays at 5x the quantisation floor" in out["explanation"]


def test_x8_windows_span_twelve_input_pixels_and_keep_the_other_keys():
    s = tr.TraceSettings()
    assert [s.pixel_crop(k) for k in (1, 2, 3, 4, 8)] == [48, 48, 48, 48, 96]
    assert [s.pixel_border(k) for k in (1, 2, 4, 8)] == [4, 4, 4, 8]
    assert s.pixel_key(96, 2) == s.pixel_key(96, 4) == s.pixel_key(96)  # x2-x4 calibrations keep their keys
    assert s.pixel_key(192, 8)["scale_window"] == [96, 8]
