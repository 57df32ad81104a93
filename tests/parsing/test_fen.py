"""FEN fingerprint losses on synthetic inputs, and the FEN's shape contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srprint.parsing.fen import (
    FEN,
    cosine_matrix,
    default_k,
    energy_loss,
    fingerprint_losses,
    magnitude_loss,
    repetitive_loss,
    spectrum_loss,
)

N = 32


def _checkerboard() -> torch.Tensor:
    i = torch.arange(N)
    return ((-1.0) ** (i[:, None] + i[None, :])).expand(2, 3, N, N).clone()


def test_spectrum_loss_is_zero_for_pure_high_frequency_and_large_for_low() -> None:
    assert spectrum_loss(_checkerboard(), k=8).item() == pytest.approx(0.0, abs=1e-8)
    flat = torch.ones(2, 3, N, N)
    assert spectrum_loss(flat, k=8).item() == pytest.approx(1.0, rel=1e-5)  # all energy at DC
    # size-independent: the same pattern on a larger crop gives the same value
    assert spectrum_loss(torch.ones(1, 3, 2 * N, 2 * N), k=16).item() == pytest.approx(1.0, rel=1e-5)


def test_repetitive_loss_rewards_a_spectral_peak_outside_the_centre() -> None:
    # the checkerboard (amplitude 1) puts all its energy in one Nyquist peak of height 1
    assert repetitive_loss(_checkerboard(), k=8).item() == pytest.approx(-1.0, rel=1e-5)
    # a constant image has nothing outside the centre
    assert repetitive_loss(torch.ones(1, 3, N, N), k=8).item() == pytest.approx(0.0, abs=1e-5)


def test_energy_loss_zero_for_symmetric_spectrum_positive_otherwise() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 3, N, N, generator=g)
    sym = a + a.transpose(-1, -2)  # F = F^T  ->  FFT(F) = FFT(F)^T
    assert energy_loss(sym).item() == pytest.approx(0.0, abs=1e-6)
    stripes = torch.sin(torch.arange(N) * 0.9).expand(1, 3, N, N).clone()  # horizontal frequencies only
    assert energy_loss(stripes).item() > 0.1
    with pytest.raises(ValueError, match="square"):
        energy_loss(torch.zeros(1, 3, 8, 16))


def test_magnitude_loss_and_weighted_total() -> None:
    f = torch.full((1, 3, N, N), 0.5)
    assert magnitude_loss(f).item() == pytest.approx(0.25)
    losses = fingerprint_losses(_checkerboard(), k=8)
    total = losses.total((0.05, 0.001, 0.1, 1.0)).item()
    expected = 0.05 * 1.0 + 0.001 * 0.0 + 0.1 * (-1.0) + 1.0 * losses.energy.item()
    assert total == pytest.approx(expected, rel=1e-5)


def test_dft_scale_is_the_unnormalised_spectrum_with_window_and_energy_averaged() -> None:
    n_pix, k = N * N, 8
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 3, N, N, generator=g)
    pix, dft = fingerprint_losses(f, k, "pixel"), fingerprint_losses(f, k, "dft")
    assert dft.magnitude.item() == pytest.approx(pix.magnitude.item(), rel=1e-6)
    assert dft.spectrum.item() == pytest.approx(pix.spectrum.item() * n_pix**2 / k**2, rel=1e-4)
    assert dft.repetitive.item() == pytest.approx(pix.repetitive.item() * n_pix, rel=1e-4)
    assert dft.energy.item() == pytest.approx(pix.energy.item() * n_pix, rel=1e-4)
    # the synthetic properties hold at either scale: a checkerboard peaks at Nyquist (height N*N)
    assert spectrum_loss(_checkerboard(), k, "dft").item() == pytest.approx(0.0, abs=1e-3)
    assert repetitive_loss(_checkerboard(), k, "dft").item() == pytest.approx(-n_pix, rel=1e-5)
    with pytest.raises(ValueError, match="loss scale"):
        fingerprint_losses(f, k, "sum")


def test_default_k_scales_with_crop() -> None:
    assert default_k(128) == 50
    assert default_k(64) == 25
    assert default_k(4) == 2


def test_fen_maps_to_same_size_and_has_configurable_depth() -> None:
    fen = FEN(depth=3, width=8)
    x = torch.rand(2, 3, 24, 24)
    assert fen(x).shape == x.shape
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fen.modules())
    n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in fen.modules())
    assert n_bn == 3 and n_conv == 2 + 3 + 1
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in FEN().modules()) == 15  # the paper's depth


def test_cosine_matrix() -> None:
    a = np.ones((3, 4, 4))
    names, sim = cosine_matrix({"a": a, "b": 2 * a, "c": -a})
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(sim, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-12)
