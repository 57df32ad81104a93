"""Function first: does the suspect compute what the source computes?

Before any weight is compared, both models run on the same probe inputs and their outputs are
compared. An adversary can rewrite a copy's weights in many ways that leave every output as it was
(permute, rescale, flip signs through PReLU, mix a residual stream by an invertible matrix, insert
identity layers, widen with dead channels, pad kernels with zeros): none of them moves the outputs,
so none of them moves this test. Exact re-parameterisations agree to float32 rounding (well above
100 dB); independent models of one task agree far less (two DnCNN-25 trained apart reach about
45 dB; SR models of one scale less).

The statistic is the *agreement* ``A = 10 log10(1 / mse)`` in dB between the luma of the two models'
outputs (clamped to ``[0, 1]``, not quantised) over :func:`probe_batch`. Its null is the agreement between
the source and models known to be independent of both sides (the references of
:func:`srprint.verification.ownership.select_references`), so no scored pair and no copy of either
side ever enters it. ``A`` is compared with the null like the lineage statistic: a Student-t
predictive p-value on the null's dB values, and the distribution-free Cantelli bound beside it.

Decisions (:func:`decide_function`):

* **same function**: ``A >= SAME_FUNCTION_DB`` and, when a null is available, the t-predictive p-value
  below ``alpha`` and ``A`` above every null sample. The floor plays the part the Cantelli bound plays in
  the lineage test (a guard that does not assume a Gaussian null): ``SAME_FUNCTION_DB`` (60 dB: an RMS difference of
  ``1e-3``, below a quarter of one 8-bit step) is a floor, not a fitted threshold: fp16 copies of the
  published checkpoints agree with their sources at >= 70 dB and the closest independent published
  pair at < 50 dB (``bench/results/verification_v3.md``, calibration pool).
* **no closer than independent models**: the Student-t p-value is at least ``alpha``: the suspect's
  outputs are not significantly closer to the source's than an independent model's are.
* otherwise the function alone does not decide (significantly closer than independent models, yet not
  the same function: a fine-tuned, quantised or distilled copy, or a model trained to imitate the source).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from .lineage import LineageError
from .null_cache import cached_null, cached_outputs, entry_digest, entry_key

PROBE_SIZE = 32  # input side of the SR probes (a denoiser's probes are SR-sized crops at scale 1)
SAME_FUNCTION_DB = 60.0
MAX_DB = 200.0  # agreement of bit-identical outputs (mse 0), so every agreement is a finite number


def probe_batch(task: str, scale: int, *, size: int = PROBE_SIZE) -> torch.Tensor:
    """The fixed probe inputs of a task: uniform noise, a smooth random field, a step edge pattern and
    two crops of scikit-image's held-out photo, degraded as the task's input is (bicubic x ``scale`` for
    SR, the task's operator at its default strength otherwise). Returns ``(5, 3, size, size)`` in
    ``[0, 1]`` for SR, ``(5, 3, 2 * size, 2 * size)`` for restoration tasks.

    Parameters
    ----------
    task : str
        ``"sr"`` or a restoration task of :mod:`srprint.verification.task_operators`.
    scale : int
        The models' scale (SR); ignored for restoration tasks.
    size : int, optional
        Side of an SR probe in input pixels.

    Returns
    -------
    torch.Tensor
        The probe inputs, the same on every call.
    """
    from ..degradation import bicubic_downscale
    from ..io.images import skimage_photos
    from ..zoo.training_sets import SKIMAGE_HOLDOUT
    from .task_operators import apply_degradation

    s = max(int(scale), 1) if task == "sr" else 1
    side = size * s if task == "sr" else 2 * size
    gen = torch.Generator().manual_seed(20261206)
    noise = torch.rand(1, 3, side, side, generator=gen)
    coarse = torch.rand(1, 3, 4, 4, generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    edges = ((xx // 5 + yy // 7) % 2).float()[None, None].repeat(1, 3, 1, 1) * 0.8 + 0.1
    photo = skimage_photos()[SKIMAGE_HOLDOUT]
    crops = [photo[40 + 70 * k:40 + 70 * k + side, 100 + 120 * k:100 + 120 * k + side] for k in range(2)]
    crops_t = torch.from_numpy(np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2))).float()
    hr = torch.cat([noise, smooth.clamp(0, 1), edges, crops_t], dim=0)
    if task == "sr":
        return bicubic_downscale(hr, s, quantize=True) if s > 1 else hr
    return apply_degradation(task, hr, 1, generator=torch.Generator().manual_seed(7)).clamp(0, 1)


def _model_device(model: Any) -> torch.device:
    """The device the model's parameters live on (CPU for a model without parameters)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def outputs_on_probes(model: Any, probes: torch.Tensor) -> torch.Tensor:
    """``model.infer`` on the probes in float32 on the model's device, returned on the CPU clamped to ``[0, 1]``.

    Raises
    ------
    LineageError
        If the model's forward pass fails on the probes or yields non-finite values.
    """
    try:
        with torch.no_grad():
            model = model.float().eval()
            # on the model's own device (--device cuda runs there)
            out = model.infer(probes.to(_model_device(model))).cpu()
    except Exception as exc:  # noqa: BLE001 - any failing forward pass is reported the same way
        raise LineageError(f"forward pass on the functional probes failed ({type(exc).__name__}: {exc})") from exc
    if not torch.isfinite(out).all():
        raise LineageError("the model's outputs on the functional probes are not finite")
    return out.float().clamp(0, 1)


def _luma(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] != 3:
        return x.double()
    w = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)
    return (x.double() * w).sum(dim=1, keepdim=True)


def agreement_db(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """``10 log10(1 / mse)`` between the luma (BT.601 Y) of two output batches, capped at :data:`MAX_DB`;
    ``None`` when the shapes differ (another scale: the two functions cannot be the same).

    Luma, because many published SR models work on Y alone and take the chroma from bicubic: two such
    models agree exactly on the chroma whatever they learned, which would make independent Y-only models
    look closer than independent RGB ones."""
    if a.shape != b.shape:
        return None
    mse = float(((_luma(a) - _luma(b)) ** 2).mean())
    return MAX_DB if mse <= 10 ** (-MAX_DB / 10) else float(-10.0 * np.log10(mse))


def function_null(source_outputs: torch.Tensor, references: Iterable[Any], *, load: Callable[[Any], Any],
                  probes: torch.Tensor, outputs: Callable[[Any], torch.Tensor] | None = None) -> dict[str, Any]:
    """Agreements between the source and each reference model (independent of both sides by construction
    of the reference list) whose outputs have the source's shape. Returns the dB values and model ids.
    ``outputs(entry)``, when given, returns an entry's (cached) outputs on ``probes``."""
    values, used = [], []
    for ref in references:
        try:
            out = outputs(ref) if outputs is not None else outputs_on_probes(load(ref), probes)
            a = agreement_db(source_outputs, out)
        except (LineageError, RuntimeError, ValueError):
            continue
        if a is not None:
            values.append(a)
            used.append(ref.id)
    return {"agreements_db": values, "models": used}


def agreement_p_value(agreement: float, null: list[float]) -> dict[str, Any]:
    """Student-t predictive p-value (and Cantelli bound) of ``agreement`` under the null dB sample.

    A new independent model's agreement ``a`` is treated as a draw from the Gaussian the null sample
    estimates (unknown mean and variance), so ``(a - mean) / (sd sqrt(1 + 1/m)) ~ t(m - 1)``; the upper
    tail is the p-value. ``p_bound`` is the distribution-free one-sided Chebyshev-Cantelli bound at the
    same standardised distance.

    Raises
    ------
    LineageError
        If the null has fewer than 3 values.
    """
    from .lineage import predictive_tail

    z0 = np.asarray(null, dtype=np.float64)
    if z0.size < 3:
        raise LineageError(f"the functional null needs at least 3 independent models, got {z0.size}")
    tail = predictive_tail(agreement, z0, min_sd=1e-3)
    return {"p_value": tail["p_value"], "p_bound": tail["p_bound"], "t": tail["t"], "null_n": tail["null_n"],
            "null_mean_db": tail["mean"], "null_max_db": float(z0.max())}


def decide_function(agreement: float | None, test: dict[str, Any] | None, *, alpha: float) -> str:
    """``"same"``, ``"not closer"`` (no closer than independent models) or ``"closer"`` (see the module
    docstring). Without a null (``test`` None) only the floor decides: ``"same"`` or ``"unknown"``."""
    if agreement is None:
        return "not closer"  # another output shape: not the same function, and nothing to compare
    if test is None:
        return "same" if agreement >= SAME_FUNCTION_DB else "unknown"
    if agreement >= SAME_FUNCTION_DB and test["p_value"] < alpha and agreement > test["null_max_db"]:
        return "same"
    if test["p_value"] >= alpha:
        return "not closer"
    return "closer"


def functional_stage(source: Any, suspect: Any, *, load: Callable[[Any], Any], references: Iterable[Any] = (),
                     alpha: float = 1e-3, cache: dict[Any, Any] | None = None) -> dict[str, Any]:
    """Compare the two models' functions and decide (module docstring). ``references`` must already be
    independent of both sides (:func:`srprint.verification.ownership.select_references`).

    Parameters
    ----------
    source, suspect : ZooEntry
        The two models' zoo entries.
    load : callable
        ``load(entry)`` returns the entry's :class:`~srprint.zoo.model.SRModel`.
    references : iterable of ZooEntry, optional
        Models independent of both sides; those with the source's output shape form the null.
    alpha : float, optional
        Significance level of *same function*, and of *closer than independent models*.
    cache : dict, optional
        Probe outputs by model folder, kept between calls.

    Returns
    -------
    dict
        ``agreement_db``, ``decision`` (``same`` | ``not closer`` | ``closer`` | ``unknown``), the null's
        summary and p-values when a null exists, and ``reason`` when the functions cannot be compared.

    Raises
    ------
    LineageError
        If a model's forward pass fails on the probes.
    """
    if source.task != suspect.task:
        return {"method": "function", "agreement_db": None, "decision": "not closer",
                "reason": f"different tasks ({source.task} vs {suspect.task})"}
    probes = probe_batch(source.task, source.scale)
    memo = cache if cache is not None else {}

    def outputs(entry: Any) -> torch.Tensor:
        key = ("outputs", entry_key(entry), source.task, source.scale)
        if key not in memo:
            memo[key] = outputs_on_probes(load(entry), probes)
        return memo[key]

    def stored_source_outputs() -> torch.Tensor:  # a registered owner's outputs are computed once
        key = ("outputs", entry_key(source), source.task, source.scale)  # the key outputs() memoises under
        if key not in memo:
            model = load(source)
            memo[key] = cached_outputs({"source": entry_digest(source, load, memo), "task": source.task,
                                        "scale": source.scale, "probe": list(probes.shape),
                                        "device": _model_device(model).type},
                                       lambda: outputs_on_probes(model, probes), batch=probes.shape[0])
        return memo[key]

    src_out = stored_source_outputs()
    if source.scale != suspect.scale:
        return {"method": "function", "agreement_db": None, "decision": "not closer",
                "reason": f"different scales (x{source.scale} vs x{suspect.scale})"}
    agreement = agreement_db(src_out, outputs(suspect))
    refs = list(references)
    null = cached_null("function", {"source": entry_digest(source, load, memo), "task": source.task,
                                    "scale": source.scale,
                                    "probe": list(probes.shape)}, refs,
                       lambda: function_null(src_out, refs, load=load, probes=probes, outputs=outputs),
                       values_key="agreements_db")
    test = agreement_p_value(agreement, null["agreements_db"]) if len(null["agreements_db"]) >= 3 else None
    out: dict[str, Any] = {"method": "function", "agreement_db": agreement, "floor_db": SAME_FUNCTION_DB,
                           "decision": decide_function(agreement, test, alpha=alpha), "null_models": null["models"],
                           "null_agreements_db": null["agreements_db"], "null_cached": bool(null.get("cached"))}
    if test is not None:
        out.update(test)
    return out
