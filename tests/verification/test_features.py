import numpy as np
import pytest

from srprint.errors import ImageError
from srprint.verification.features import (
    FEATURE_LENGTH,
    circle_offsets,
    fingerprint_features,
    lgp_bits,
    lgp_histogram,
    lgp_riu2_codes,
    rgb_histogram,
    rotation_min_code,
)


def test_rgb_histogram_hand_computed():
    img = np.zeros((2, 2, 3), dtype=np.float32)
    img[..., 0] = [[0.0, 0.2], [0.5, 1.0]]  # bins 0, 1, 3, 5 (1.0 clamps into the last bin)
    img[..., 1] = 0.99  # all in bin 5
    img[..., 2] = [[0.17, 0.17], [0.34, 0.34]]  # bins 1, 2
    h = rgb_histogram(img)
    np.testing.assert_allclose(h[:6], [0.25, 0.25, 0, 0.25, 0, 0.25])
    np.testing.assert_allclose(h[6:12], [0, 0, 0, 0, 0, 1])
    np.testing.assert_allclose(h[12:], [0, 0.5, 0.5, 0, 0, 0])


def test_circle_offsets_p10_r2():
    off = circle_offsets()
    assert off.shape == (10, 2)
    np.testing.assert_allclose(off[0], [0, 2])  # first neighbour to the right
    np.testing.assert_allclose(off[5], [0, -2])
    np.testing.assert_allclose(np.hypot(off[:, 0], off[:, 1]), 2.0)


def _centre_bits(img5: np.ndarray) -> np.ndarray:
    bits = lgp_bits(img5)
    assert bits.shape == (1, 1, 10)  # only the centre of a 5x5 image has its radius-2 circle inside
    return bits[0, 0]


def test_lgp_step_edge_is_uniform_with_five_ones():
    # centre 0, columns right of it 1: g = [1, 1, .618, 0, 0, 0, 0, 0, .618, 1], mean .4236
    img = np.zeros((5, 5))
    img[:, 3:] = 1.0
    bits = _centre_bits(img)
    np.testing.assert_array_equal(bits, [1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
    assert rotation_min_code(bits) == 0b11111
    assert lgp_riu2_codes(bits) == 5


def test_lgp_linear_ramp_is_non_uniform():
    # I = x: g_p = 2|cos(36 p deg)| = [2, 1.62, .62, .62, 1.62, 2, 1.62, .62, .62, 1.62], mean 1.294
    img = np.tile(np.arange(5.0), (5, 1))
    bits = _centre_bits(img)
    np.testing.assert_array_equal(bits, [1, 1, 0, 0, 1, 1, 1, 0, 0, 1])
    assert lgp_riu2_codes(bits) == 11  # 4 transitions > u0 = 2: the non-uniform bin


def test_lgp_impulse_and_flat_all_ones():
    img = np.zeros((5, 5))
    img[2, 2] = 1.0  # all neighbours 0 -> every gradient 1 = mean
    np.testing.assert_array_equal(_centre_bits(img), np.ones(10))
    assert lgp_riu2_codes(_centre_bits(img)) == 10
    assert lgp_riu2_codes(_centre_bits(np.full((5, 5), 0.3))) == 10


def test_riu2_codes_rotation_invariant_and_count_ones():
    rng = np.random.default_rng(0)
    for n in range(11):
        bits = np.array([1] * n + [0] * (10 - n))
        for s in range(10):
            assert lgp_riu2_codes(np.roll(bits, s)) == n
    nonuni = rng.integers(0, 2, size=(200, 10))
    trans = (nonuni != np.roll(nonuni, 1, axis=1)).sum(1)
    codes = lgp_riu2_codes(nonuni)
    assert np.all(codes[trans > 2] == 11)
    assert np.all(codes[trans <= 2] == nonuni[trans <= 2].sum(1))


def test_lgp_histogram_and_feature_vector():
    img = np.zeros((9, 9, 3))
    img[:, 5:] = 1.0
    h = lgp_histogram(img)
    assert h.shape == (12,)
    assert h.sum() == pytest.approx(1.0)
    f = fingerprint_features([img, img])
    assert f.shape == (FEATURE_LENGTH,) == (30,)
    np.testing.assert_allclose(f, fingerprint_features(img))
    np.testing.assert_allclose(f[:18].reshape(3, 6).sum(1), 1.0)


def test_lgp_too_small_image():
    with pytest.raises(ImageError, match="too small"):
        lgp_histogram(np.zeros((4, 4, 3)))
