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
    cos, evidence, identity = alignment.compare_pair(source, suspect)
    assert cos > 0.99 and evidence > 0 and identity is not None and identity > 0.99


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


def test_a_reference_that_shares_the_sources_start_is_left_out_of_the_null(tmp_path) -> None:
    from srprint.verification import lineage as lin
    from srprint.verification.attacks import attack_model
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.ownership import lineage_null

    from .conftest import make_sr_entry

    source, other = make_sr_entry(tmp_path, "s1", 1), make_sr_entry(tmp_path, "s2", 2)
    started_from = attack_model(source, "quantize", tmp_path / "q", params={"bits": 6})  # the source's weights
    cap = lin.capture_model(load_entry_model(source))
    res = alignment.compare_aligned(cap, lin.capture_model(load_entry_model(started_from)))
    assert alignment.shared_start(res) > 0.9
    null = lineage_null(cap, load_entry_model(other), [started_from, other], load=load_entry_model, n_random=2)
    assert null["models"] == ["random-init-0", "random-init-1", other.id]
