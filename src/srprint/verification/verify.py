"""Distance, chi-square threshold and verdict between two fingerprints.

Derivation of the threshold ``eta``
-----------------------------------
Let ``h1, h2`` be two ``L``-bin fingerprint vectors and ``d = ||h1 - h2||^2 / L``. Take as null
hypothesis H0 "the suspect is an independent model", under which every bin differs by an
independent ``N(0, sigma^2)`` amount or more (``sigma = 0.015`` is the bin-level spread the
paper assumes). Then ``T = ||h1 - h2||^2 / sigma^2 = d * L / sigma^2`` is (at least) ``chi2(L)``
distributed, and a *small* ``T`` is evidence against independence. Rejecting H0 at level ``p``
when ``T`` falls below the lower ``p``-quantile gives

    d < eta = sigma^2 * chi2.ppf(p, L) / L

and the p-value ``P(chi2(L) <= T) = chi2.cdf(d * L / sigma^2, L)``. For ``L = 30,
sigma = 0.015, p = 0.05``: ``chi2.ppf(0.05, 30) = 18.493`` so ``eta = 2.25e-4 * 18.493 / 30 =
1.387e-4``, the paper's ``1.39e-4``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2

from .features import FEATURE_LENGTH
from .fingerprint import Fingerprint, FingerprintError

SIGMA = 0.015
P_LEVEL = 0.05


def eta_threshold(length: int = FEATURE_LENGTH, sigma: float = SIGMA, p: float = P_LEVEL) -> float:
    """``eta = sigma^2 * chi2.ppf(p, L) / L`` (see the module docstring).

    Raises
    ------
    FingerprintError
        On: "bad threshold parameters L=…, sigma=…, p=…".
    """
    if length < 1 or sigma <= 0 or not 0 < p < 1:
        raise FingerprintError(f"bad threshold parameters L={length}, sigma={sigma}, p={p}")
    return float(sigma**2 * chi2.ppf(p, length) / length)


def feature_distance(h1: np.ndarray, h2: np.ndarray) -> float:
    """``d = ||h1 - h2||^2 / L``.

    Raises
    ------
    FingerprintError
        On: "feature vectors of different shapes … vs …".
    """
    a, b = np.asarray(h1, dtype=np.float64), np.asarray(h2, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise FingerprintError(f"feature vectors of different shapes {a.shape} vs {b.shape}")
    return float(((a - b) ** 2).sum() / a.size)


def p_value(d: float, length: int = FEATURE_LENGTH, sigma: float = SIGMA) -> float:
    """``P(chi2(L) <= d L / sigma^2)``: small means 'too close to be independent'."""
    return float(chi2.cdf(d * length / sigma**2, length))


@dataclass
class Verdict:
    """The outcome of comparing a source fingerprint with a suspect's."""

    is_copy: bool
    d: float
    eta: float
    ratio: float  # d / eta (< 1: copy)
    p_value: float
    sigma: float
    p: float
    source: dict[str, Any] = field(default_factory=dict)
    suspect: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    method: str = "critical"
    image: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "COPY" if self.is_copy else "independent"

    def summary_line(self) -> str:
        """The verdict and its numbers on one line."""
        return f"{self.label}  d = {self.d:.3g}  eta = {self.eta:.3g}  d/eta = {self.ratio:.3g}  p = {self.p_value:.3g}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.label}


def check_comparable(a: Fingerprint, b: Fingerprint) -> None:
    """Refuse fingerprints made with different settings or tasks, naming what differs.

    Raises
    ------
    FingerprintError
        On: "cannot compare fingerprints made with different settings:".
    """
    diff = a.settings.differences(b.settings)
    if diff:
        raise FingerprintError("cannot compare fingerprints made with different settings: " + ", ".join(diff))


def verify_fingerprints(source: Fingerprint, suspect: Fingerprint, sigma: float = SIGMA,
                        *, p: float = P_LEVEL) -> Verdict:
    """Verdict for two critical-image fingerprints (same settings required).

    Raises
    ------
    FingerprintError
        On: "method … verifies against a model, not a fingerprint; give the suspect as a model".
    """
    check_comparable(source, suspect)
    if source.settings.method in ("projcl", "poolcl"):
        raise FingerprintError(f"method {source.settings.method} verifies against a model, not a fingerprint; "
                               "give the suspect as a model")
    d = feature_distance(source.features, suspect.features)
    length = source.features.size
    eta = eta_threshold(length, sigma, p)
    pv = p_value(d, length, sigma)
    return Verdict(bool(d < eta), d, eta, d / eta, pv, sigma, p, _who(source), _who(suspect),
                   source.settings.to_dict(), source.settings.method, notes=compute_notes(source, suspect))


# the environment keys a critical image's floating-point result depends on
COMPUTE_KEYS = ("torch", "torch_threads", "device")


def compute_notes(a: Fingerprint, b: Fingerprint) -> list[str]:
    """Notes when two fingerprints were computed in different environments (both recorded).

    The optimisation is deterministic for one environment; another thread count, device or torch
    build changes float reductions, which moved d by up to 0.05 eta between a 1- and a 2-thread run
    of the same model (bench/results/verification.md). A verdict that close to eta deserves a rerun
    of both sides in one environment.
    """
    notes = []
    for key in COMPUTE_KEYS:
        va, vb = a.versions.get(key), b.versions.get(key)
        if va and vb and va != vb:
            notes.append(f"computed with different {key} ({va} vs {vb}): d can differ slightly from a same-setup run")
    return notes


def _who(fp: Fingerprint) -> dict[str, Any]:
    return {k: fp.model.get(k) for k in ("id", "sha256", "arch", "scale", "task", "attack")}


def side_by_side(source: Fingerprint, suspect: Fingerprint, verdict: Verdict, *, path: str | Path) -> Path:
    """Write a PNG with the two (first) critical images and the verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_save

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.8))
    for ax, fp, title in ((axes[0], source, "source"), (axes[1], suspect, "suspect")):
        ax.imshow(fp.images[0], interpolation="nearest")
        ax.set_title(f"{title}: {fp.model.get('id', '?')}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{verdict.label}: d/eta = {verdict.ratio:.3g}  (d = {verdict.d:.3g}, eta = {verdict.eta:.3g}, "
                 f"p = {verdict.p_value:.3g})", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path
