"""The lineage sketch: what a model computes on fixed probes, as one short unit vector.

A sketch must survive every edit that keeps (or nearly keeps) the function: permuted or sign-flipped
channels, invertible mixing at a linear junction, dead or zero-padded channels, identity layers, an fp16
cast. Anything read off the weights has to undo each of those first; the outputs do not change under
them at all. So the sketch is functional:

1. **Probes** (:func:`probe_inputs`), fixed per ``(task, scale)``: uniform noise, a smooth random field
   and two crops of scikit-image's held-out photo, :data:`PROBE_SIDE` pixels square, degraded as the
   task's input (bicubic ``1/scale`` for SR, the task's own operator with a fixed seed otherwise).
2. **Residual.** The model's output minus the trivial answer (bicubic upscaling for SR, the input for
   restoration): the part of the output the network itself contributes.
3. **Count sketch** (:func:`count_sketch`) of the flattened residuals to :data:`SKETCH_DIM` numbers
   (each element added with a fixed random sign into a fixed random bucket, both seeded by
   ``(task, scale)``), L2-normalised. It preserves inner products in expectation, so the cosine of two
   sketches tracks the cosine of the two models' residuals.

Sketches are only compared within one ``(task, scale)`` key (:func:`group_key`). Beside the vector, each
model gets :func:`weight_stats` (MoTHer's weight kurtosis, the share of exact zeros, the storage grid:
fp16, few distinct values) and :func:`heldout_quality` (PSNR on a held-out photo), read by the
direction rules of :mod:`srprint.lineage.relate`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

SKETCH_DIM = 256
PROBE_SIDE = 24  # input pixels per probe side: every published family here runs on it (window sizes <= 8)
N_PROBES = 4
SKETCH_VERSION = 1  # bumped when probes or projection change: an index refuses sketches of another version


def group_key(task: str, scale: int) -> str:
    """The comparable group of a model: ``sr-x4``, ``denoise-x1``, ..."""
    return f"{task}-x{int(scale)}"


def _seed(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def probe_inputs(task: str, scale: int) -> tuple[Any, Any]:
    """The model inputs for ``(task, scale)`` and the trivial answer each output is measured against.

    Returns
    -------
    (x, base) : torch.Tensor
        ``x`` is ``(N_PROBES, 3, h, w)`` in ``[0, 1]``; ``base`` has the output's shape.

    Raises
    ------
    SrprintError
        An unknown restoration task.
    """
    import torch

    from ..degradation import bicubic_downscale, bicubic_upscale
    from ..io.images import skimage_photos
    from ..zoo.training_sets import SKIMAGE_HOLDOUT

    s = max(int(scale), 1)
    side = PROBE_SIDE * s if task == "sr" else PROBE_SIDE
    gen = torch.Generator().manual_seed(_seed("probe", task, s) % 2**63)
    noise = torch.rand(1, 3, side, side, generator=gen)
    coarse = torch.rand(1, 3, 4, 4, generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)
    photo = skimage_photos()[SKIMAGE_HOLDOUT]
    crops = [photo[40:40 + side, 60:60 + side], photo[200:200 + side, 300:300 + side]]
    crops_t = torch.from_numpy(np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2))).float()
    hr = torch.cat([noise, smooth.clamp(0, 1), crops_t], dim=0)
    if task == "sr":
        x = bicubic_downscale(hr, s, quantize=True)
        return x, bicubic_upscale(x, s).clamp(0, 1)
    from ..verification.task_operators import apply_degradation

    x = apply_degradation(task, hr, 1, params=None, generator=gen).clamp(0, 1)
    return x, x


def probe_outputs(model: Any, task: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``(outputs, residuals)`` of ``model`` (an :class:`~srprint.zoo.model.SRModel`) on the probes, float64.

    Raises
    ------
    SrprintError
        The model's output does not have the task's shape.
    """
    import torch

    from ..errors import SrprintError

    x, base = probe_inputs(task, scale)
    with torch.no_grad():
        net = model.float().cpu().eval()
        out = net.infer(x).double()
    if tuple(out.shape) != tuple(base.shape):
        raise SrprintError(f"model output {tuple(out.shape)} does not fit task {task} x{scale} "
                           f"(expected {tuple(base.shape)})")
    out_np = out.numpy()
    return out_np, out_np - base.double().numpy()


def count_sketch(values: np.ndarray, key: str, dim: int = SKETCH_DIM) -> np.ndarray:
    """Count sketch of ``values`` (flattened) into ``dim`` buckets, L2-normalised (float64).

    Buckets and signs are drawn once per ``(key, len(values), dim)``, so every model of a group is
    projected the same way. A zero residual (the model is the trivial answer) gives the zero vector.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    rng = np.random.default_rng(_seed("sketch", key, flat.size, dim))
    buckets = rng.integers(0, dim, size=flat.size)
    signs = rng.integers(0, 2, size=flat.size) * 2.0 - 1.0
    v = np.bincount(buckets, weights=flat * signs, minlength=dim)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def model_sketch(model: Any, task: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sketch, outputs)``: the unit sketch vector and the raw probe outputs (for function distances)."""
    out, res = probe_outputs(model, task, scale)
    return count_sketch(res, group_key(task, scale)), out


def function_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB, peak 1) between two models' probe outputs: how closely one reproduces the other.

    Exact re-parameterisations agree to float rounding (> 120 dB); independent models of one task to
    about 30-45 dB. Identical outputs give ``inf``.
    """
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


HELDOUT_BORDER = 8  # output pixels left out at each edge of the held-out PSNR (padding effects)


def heldout_quality(model: Any, task: str, scale: int) -> dict[str, float]:
    """How well ``model`` restores scikit-image's held-out photo (``coffee``: never in a training set of
    srprint's zoo or attacks), beside the trivial answer (bicubic upscaling for SR, the degraded input
    otherwise): ``{"heldout_db": ..., "trivial_db": ...}``, PSNR in dB (peak 1, float outputs, a
    :data:`HELDOUT_BORDER` border left out). Read by the quality direction rule
    (:func:`srprint.lineage.relate.direction`).

    Raises
    ------
    SrprintError
        The model's output does not have the task's shape.
    """
    import torch

    from ..degradation import bicubic_downscale, bicubic_upscale
    from ..errors import SrprintError
    from ..io.images import skimage_photos
    from ..zoo.training_sets import SKIMAGE_HOLDOUT

    s = max(int(scale), 1)
    photo = np.asarray(skimage_photos()[SKIMAGE_HOLDOUT], dtype=np.float32)
    photo = photo / 255.0 if photo.max() > 1.5 else photo
    unit = 4 * s
    h, w = (photo.shape[0] // unit) * unit, (photo.shape[1] // unit) * unit
    hr = torch.from_numpy(np.ascontiguousarray(photo[:h, :w].transpose(2, 0, 1)[None]))
    if task == "sr":
        x = bicubic_downscale(hr, s, quantize=True)
        trivial = bicubic_upscale(x, s).clamp(0, 1)
    else:
        from ..verification.task_operators import apply_degradation

        gen = torch.Generator().manual_seed(_seed("heldout", task) % 2**63)
        x = apply_degradation(task, hr, 1, params=None, generator=gen).clamp(0, 1)
        trivial = x
    with torch.no_grad():
        out = model.float().cpu().eval().infer(x).clamp(0, 1)
    if tuple(out.shape) != tuple(hr.shape):
        raise SrprintError(f"model output {tuple(out.shape)} does not fit task {task} x{scale} "
                           f"(expected {tuple(hr.shape)})")
    b = HELDOUT_BORDER

    def psnr(y: Any) -> float:
        mse = float(((y.double() - hr.double())[..., b:-b, b:-b] ** 2).mean())
        return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))

    return {"heldout_db": round(psnr(out), 4), "trivial_db": round(psnr(trivial), 4)}


def heldout_stats(model: Any, task: str, scale: int) -> dict[str, float]:
    """:func:`heldout_quality`, or ``{}`` when the model cannot run on the whole photo (the direction rule
    that reads it is then skipped; the sketch does not depend on it)."""
    from ..errors import SrprintError

    try:
        return heldout_quality(model, task, scale)
    except (SrprintError, RuntimeError, ValueError) as exc:  # e.g. a window size the photo does not fit
        return {"heldout_error": f"{type(exc).__name__}: {exc}"[:200]}


def _kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    v = float((x * x).mean())
    return float((x ** 4).mean() / (v * v)) if v > 0 else 0.0


def weight_stats(state: dict[str, Any]) -> dict[str, Any]:
    """Statistics of a state dict that the direction rules read (all invariant to channel permutation).

    ``kurtosis``: parameter-weighted mean kurtosis of the conv / linear kernels (MoTHer's direction
    signal); ``zero_share``: share of exactly-zero kernel entries (pruning); ``fp16``: every float tensor
    stored as float16, or holding only values fp16 represents; ``grid_levels``: the largest number of
    distinct values in one kernel (int8 quantisation leaves at most 255); ``params``: kernel entries;
    ``layers``: ``[entries, |excess kurtosis|]`` per kernel in name order (the direction vote).
    """
    import torch

    num, den, zeros, total, levels, fp16_all, any_float = 0.0, 0, 0, 0, 0, True, False
    layers: list[list[float]] = []
    for name in sorted(state):
        value = state[name]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            continue
        any_float = True
        t = value.detach().cpu()
        if t.dtype != torch.float16 and not torch.equal(t.float(), t.half().float()):
            fp16_all = False
        if t.ndim < 2 or t.numel() < 16:
            continue
        a = t.double().numpy().ravel()
        kurt = _kurtosis(a)
        layers.append([int(a.size), abs(kurt - 3.0)])
        num += kurt * a.size
        den += a.size
        zeros += int((a == 0).sum())
        total += a.size
        levels = max(levels, int(np.unique(a).size))
    return {"kurtosis": num / den if den else 0.0, "zero_share": zeros / total if total else 0.0,
            "fp16": bool(any_float and fp16_all), "grid_levels": levels, "params": total, "layers": layers}
