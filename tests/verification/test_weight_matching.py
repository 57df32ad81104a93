"""Weight matching (measured as v3.6, withdrawn): a damaged copy whose activations no longer match is aligned."""

from __future__ import annotations

import numpy as np
import pytest

from srprint.verification.lineage import Layer, compare_layers
from srprint.verification.weight_matching import signed_assignment, weight_matched_cosine


def _layer(weight: np.ndarray, in_act: np.ndarray, out_act: np.ndarray, groups: int = 1) -> Layer:
    return Layer("conv", "conv", weight, groups, in_act, out_act, kernel=(3, 3))


def _pair(seed: int = 0, noise: float = 0.004) -> tuple[Layer, Layer, Layer]:
    """A 16x12 3x3 layer, its copy with permuted, sign-flipped and rescaled channels plus noise (as int8
    leaves it: half its step), whose activations are *unrelated* to the source's (a copy whose function drifted), and an
    independent layer of the same shape."""
    rng = np.random.default_rng(seed)
    out_c, in_c, positions = 16, 12, 400
    w = rng.standard_normal((out_c, in_c, 9))
    p_out, p_in = rng.permutation(out_c), rng.permutation(in_c)
    s_out, s_in = rng.choice([-1.0, 1.0], out_c), rng.choice([-1.0, 1.0], in_c)
    scale_out, scale_in = rng.uniform(0.5, 2.0, out_c), rng.uniform(0.5, 2.0, in_c)
    copy = np.empty_like(w)
    for o in range(out_c):
        for i in range(in_c):
            copy[p_out[o], p_in[i]] = w[o, i] * s_out[o] * s_in[i] * scale_out[o] * scale_in[i]
    copy += noise * np.abs(copy).max() * rng.standard_normal(copy.shape)
    act = lambda c: rng.standard_normal((c, positions))  # noqa: E731
    src = _layer(w, act(in_c), act(out_c))
    return src, _layer(copy, act(in_c), act(out_c)), _layer(rng.standard_normal(w.shape), act(in_c), act(out_c))


def test_signed_assignment() -> None:
    score = np.array([[0.1, -5.0], [3.0, 0.2]])
    perm, sign = signed_assignment(score)
    assert perm.tolist() == [1, 0] and sign.tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("seed", range(6))
def test_a_damaged_copy_is_aligned_by_its_weights_where_activations_fail(seed: int) -> None:
    src, copy, independent = _pair(seed)
    assert compare_layers(src, copy) < 0.5  # the activation matching is lost (the v3.5 frame)
    matched = weight_matched_cosine(src, copy)
    assert matched is not None and matched > 0.99
    unrelated = weight_matched_cosine(src, independent)
    assert unrelated is not None and unrelated < 0.5


def test_shapes_that_do_not_apply() -> None:
    src, copy, _ = _pair()
    assert weight_matched_cosine(src, _layer(copy.weight[:, :6], copy.in_act[:6], copy.out_act)) is None
    grouped = _layer(src.weight, src.in_act, src.out_act, groups=2)
    assert weight_matched_cosine(grouped, grouped) is None
