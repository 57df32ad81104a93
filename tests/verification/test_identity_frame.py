"""v3.7's identity frame (alignment.identity_frame): a copy whose activations an edit decorrelated still
compares as a copy, and independent layers stay near 0 in it."""

from __future__ import annotations

import numpy as np

from srprint.verification import alignment
from srprint.verification.lineage import Layer


def _layer(weight: np.ndarray, rng: np.random.Generator, positions: int = 512) -> Layer:
    """A 3x3 convolution with activations unrelated to anything else (fresh noise)."""
    out, cin = weight.shape[:2]
    return Layer("conv", "Conv2d", weight, 1, rng.standard_normal((cin, positions)),
                 rng.standard_normal((out, positions)), kernel=(3, 3))


def test_a_copy_with_decorrelated_activations_is_found_by_its_weights() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 16, 9))
    copy = w * rng.uniform(0.5, 2.0, (16, 1, 1)) + 0.01 * rng.standard_normal(w.shape)  # rescaled, noisy
    source, suspect = _layer(w, rng), _layer(copy, rng)  # the activations share nothing
    assert alignment.identity_frame(source, suspect) > 0.99
    cos, evidence = alignment.compare_pair(source, suspect)
    assert cos > 0.99 and evidence > 0


def test_independent_layers_stay_near_zero_in_the_identity_frame() -> None:
    rng = np.random.default_rng(1)
    values = [alignment.identity_frame(_layer(rng.standard_normal((16, 16, 9)), rng),
                                       _layer(rng.standard_normal((16, 16, 9)), rng)) for _ in range(20)]
    assert max(abs(v) for v in values) < 0.15  # sd of a 2304-entry cosine: ~0.02


def test_a_permuted_copy_is_not_a_copy_in_the_identity_frame() -> None:
    """The frame matches no channel: a permutation is for the activation frames to undo."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((16, 16, 9))
    perm = rng.permutation(16)
    assert alignment.identity_frame(_layer(w, rng), _layer(w[perm], rng)) < 0.5
