"""Fingerprint Estimation Network (FEN) of Asnani et al. and its four fingerprint losses.

The FEN is DnCNN-like: two stem convolutions, ``depth`` (paper: 15) conv-BN-ReLU blocks and a
final convolution, mapping an image ``(B, 3, H, W)`` to a same-size fingerprint ``F``. Its
training signal combines the parsing losses (:mod:`srprint.parsing.pn`) with four constraints
that make ``F`` look like a generative-model fingerprint:

* magnitude  ``||F||^2`` (small fingerprints);
* spectrum   energy of the ``k x k`` low-frequency centre of the shifted 2-D spectrum
  (fingerprints live in high frequencies);
* repetitive ``- max`` of the spectrum outside that centre (a strong repeated pattern, i.e. a
  spectral peak, as up-sampling layers leave);
* energy     ``||FFT(F) - FFT(F)^T||^2`` (a spectrum symmetric under transposition).

Weights ``lambda = (0.05, 0.001, 0.1, 1)``. The paper's ``k = 50`` is for a 128 px input;
:func:`default_k` scales it with the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

PAPER_K, PAPER_CROP = 50, 128
DEFAULT_LAMBDAS = (0.05, 0.001, 0.1, 1.0)


def default_k(crop: int) -> int:
    """Low-frequency window side for a crop, scaled from the paper's 50 px at 128 px (>= 2)."""
    return max(2, int(round(PAPER_K * crop / PAPER_CROP)))


class FEN(nn.Module):
    """DnCNN-like fingerprint estimator: image ``(B, 3, H, W)`` -> fingerprint ``(B, 3, H, W)``."""

    def __init__(self, depth: int = 15, width: int = 64, channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth):
            layers += [
                nn.Conv2d(width, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.depth, self.width = depth, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


# How the spectrum losses are scaled. "pixel": normalised FFT, window and energy terms summed, so each
# loss is in per-pixel units whatever the crop. "dft": as the authors' released code computes them
# (unnormalised FFT magnitudes; window and energy terms averaged over their elements). With 64 px crops
# "dft" makes the spectrum, repetitive and energy terms about 27000x, 4096x and 4096x larger: under
# "pixel" the four terms together were 0.2 % of the training loss (0.05 of 22 after 4 epochs), too
# small to shape the fingerprint.
LOSS_SCALES = ("pixel", "dft")


def _check_scale(scale: str) -> None:
    if scale not in LOSS_SCALES:
        raise ValueError(f"loss scale must be one of {', '.join(LOSS_SCALES)}; got {scale!r}")


def shifted_spectrum(f: torch.Tensor, scale: str = "pixel") -> torch.Tensor:
    """Magnitude of the 2-D FFT of each channel, DC moved to the centre: ``(B, C, H, W)``.

    ``scale="pixel"``: normalised ``forward`` (divided by ``H*W``): a pattern of amplitude ``a`` gives
    peaks of height ``a`` whatever the crop size, and ``sum |S|^2 = mean F^2`` (Parseval).
    ``scale="dft"``: the unnormalised DFT (``H*W`` times larger).
    """
    _check_scale(scale)
    spec = torch.fft.fft2(f.float(), norm="forward" if scale == "pixel" else "backward")
    return torch.fft.fftshift(spec.abs(), dim=(-2, -1))


def _centre_mask(h: int, w: int, k: int, device: torch.device) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.bool, device=device)
    k = min(k, h, w)
    top, left = h // 2 - k // 2, w // 2 - k // 2
    mask[top : top + k, left : left + k] = True
    return mask


def magnitude_loss(f: torch.Tensor) -> torch.Tensor:
    """``||F||^2`` per pixel (mean over pixels, channels and batch)."""
    return f.pow(2).mean()


def _reduce(x: torch.Tensor, dims: int | tuple[int, ...], scale: str) -> torch.Tensor:
    """Sum (``scale="pixel"``) or mean (``"dft"``) over ``dims``, then mean over what is left."""
    return (x.sum(dims) if scale == "pixel" else x.mean(dims)).mean()


# the three spectrum terms, on a spectrum from shifted_spectrum (fingerprint_losses computes it once)
def _low_frequency_energy(s: torch.Tensor, k: int, scale: str) -> torch.Tensor:
    mask = _centre_mask(s.shape[-2], s.shape[-1], k, s.device)
    return _reduce(s.pow(2)[..., mask], -1, scale)


def _peak_outside_centre(s: torch.Tensor, k: int) -> torch.Tensor:
    mask = _centre_mask(s.shape[-2], s.shape[-1], k, s.device)
    return -s[..., ~mask].amax(-1).mean()


def _asymmetry(s: torch.Tensor, scale: str) -> torch.Tensor:
    if s.shape[-1] != s.shape[-2]:
        raise ValueError(f"energy loss needs square fingerprints, got {tuple(s.shape[-2:])}")
    # the same shift on both axes commutes with the transpose
    return _reduce((s - s.transpose(-2, -1)).pow(2), (-2, -1), scale)


def spectrum_loss(f: torch.Tensor, k: int, scale: str = "pixel") -> torch.Tensor:
    """Energy of the ``k x k`` low-frequency centre of the shifted spectrum (mean over batch, channels).

    Summed over the window (``scale="pixel"``) or averaged over it (``"dft"``).
    """
    return _low_frequency_energy(shifted_spectrum(f, scale), k, scale)


def repetitive_loss(f: torch.Tensor, k: int, scale: str = "pixel") -> torch.Tensor:
    """Minus the maximum spectrum magnitude outside the low-frequency centre (mean over batch, channels)."""
    return _peak_outside_centre(shifted_spectrum(f, scale), k)


def energy_loss(f: torch.Tensor, scale: str = "pixel") -> torch.Tensor:
    """``||S - S^T||^2`` of the spectrum magnitude ``S`` (needs square inputs), mean over batch, channels.

    Summed over frequencies (``scale="pixel"``) or averaged over them (``"dft"``).
    """
    return _asymmetry(shifted_spectrum(f, scale), scale)


@dataclass
class FingerprintLosses:
    magnitude: torch.Tensor
    spectrum: torch.Tensor
    repetitive: torch.Tensor
    energy: torch.Tensor

    def total(self, lambdas: tuple[float, float, float, float] = DEFAULT_LAMBDAS) -> torch.Tensor:
        l1, l2, l3, l4 = lambdas
        return l1 * self.magnitude + l2 * self.spectrum + l3 * self.repetitive + l4 * self.energy

    def as_floats(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in vars(self).items()}


def fingerprint_losses(f: torch.Tensor, k: int, scale: str = "pixel") -> FingerprintLosses:
    """All four FEN losses of a fingerprint batch ``(B, C, H, W)``; ``scale`` see :data:`LOSS_SCALES`."""
    s = shifted_spectrum(f, scale)  # one FFT for the three spectrum terms (this runs every training batch)
    return FingerprintLosses(magnitude_loss(f), _low_frequency_energy(s, k, scale), _peak_outside_centre(s, k),
                             _asymmetry(s, scale))


# ---------------------------------------------------------------------------------------------- figures
def fingerprint_figure(fingerprints: dict[str, np.ndarray], out: str, max_models: int = 24) -> None:
    """One row per model: mean fingerprint (normalised for display) and its log spectrum."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_save

    names = list(fingerprints)[:max_models]
    fig, axes = plt.subplots(len(names), 2, figsize=(4.4, 2.1 * max(1, len(names))), squeeze=False)
    for row, name in zip(axes, names, strict=False):
        f = np.asarray(fingerprints[name], dtype=np.float64)  # (3, H, W)
        disp = f.transpose(1, 2, 0)
        disp = (disp - disp.min()) / max(1e-12, float(disp.max() - disp.min()))
        spec = shifted_spectrum(torch.from_numpy(f)[None]).mean(1)[0].numpy()
        row[0].imshow(disp)
        row[1].imshow(np.log1p(spec), cmap="magma")
        row[0].set_ylabel(name, fontsize=6, rotation=0, ha="right", va="center")
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_title("fingerprint", fontsize=8)
    axes[0][1].set_title("log |FFT|", fontsize=8)
    fig.tight_layout()
    atomic_save(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def cosine_matrix(fingerprints: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Model x model cosine similarity of the (flattened) mean fingerprints."""
    names = list(fingerprints)
    mat = np.stack([np.asarray(fingerprints[n], dtype=np.float64).ravel() for n in names])
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    return names, mat @ mat.T


def similarity_figure(fingerprints: dict[str, np.ndarray], out: str) -> None:
    """Heat map of :func:`cosine_matrix`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_save

    names, sim = cosine_matrix(fingerprints)
    side = max(3.0, 0.28 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    im = ax.imshow(sim, vmin=-1, vmax=1, cmap="coolwarm")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title("fingerprint cosine similarity", fontsize=9)
    fig.tight_layout()
    atomic_save(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
