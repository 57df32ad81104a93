"""Lineage v3: compare two captured models' weights in a frame an adversary cannot move for free.

:mod:`srprint.verification.lineage` quotients out channel permutations and positive rescaling. A
thief can do more without changing one output: flip signs (through a residual stream, or through
PReLU), mix a linear junction by any invertible matrix ``M`` (writers ``M W``, readers ``W M^-1``),
insert identity layers or residual blocks whose last convolution is zero, widen a layer with dead
channels, pad kernels with zeros. This module compares layers in the *source's coordinates*:

1. **Pair layers by what they compute**, not by shape order. For every source layer ``a`` and suspect
   layer ``b`` seen at the same number of probe positions, ``R2(a, b)`` (on at most
   :data:`PAIRING_POSITIONS` evenly spaced positions: the pairing needs a ranking, not a precise fit) is
   the share of the variance of ``a``'s output (and, separately, input) activations that a linear map of
   ``b``'s explains; layers are paired by a monotone alignment (dynamic programming) that maximises the
   summed score. An inserted identity layer repeats its neighbour's output but not its input, so it is
   left unpaired; so is a zero convolution (it explains nothing).
2. **Map each junction by a general linear map.** For a paired layer, ``P`` (least squares, ridge)
   writes the suspect's input activations as a linear function of the source's, and ``Q`` the source's
   output activations as a linear function of the suspect's. The suspect's kernel in the source's frame
   is ``Q W_b P`` (per kernel tap). Any invertible mixing, signed permutation, scaling, and dead or extra
   channels (which get zero coefficients) cancel exactly.
3. **Canonical kernels.** Kernel borders that are zero across a whole layer are trimmed, and the
   smaller kernel is embedded at the centre of the larger, so a zero-padded 5x5 copy of a 3x3 kernel
   compares equal.
4. **Compare.** The cosine between ``W_a`` and ``Q W_b P``, weighted as in v2 (near-zero source rows and
   columns count in proportion); where the two layers have the same shape, the larger of that and v2's
   permutation-aligned cosine (the discrete matching is robust to the activation noise of a quantised or
   pruned copy, which the least-squares maps absorb); where the suspect's layer is the source's widened (as
   wide or wider on both sides, by at most :data:`MAX_WIDENING`), v2's cosine on the source's channels,
   found by a rectangular matching of their activations (the least-squares maps alone let a widened copy's
   extra channels absorb quantisation noise: a widened, per-tensor int8 copy of CDnCNN-B fell from S 0.99
   to 0.61). Same-shape layers also take the *identity frame* (:func:`identity_frame`, v3.7): the
   canonical weights compared with no channel matched, which sees a copy whose activations an edit has
   decorrelated (both activation frames then fail), and, being one frame and not a search, leaves
   independent layers near 0.
   A layer whose output map can span every filter of its input
   (``C_out(b) >= C_in(a) x kernel taps``, e.g. the first 3x3 convolution of an RGB network, or a 1x1
   convolution that does not reduce) is matched by ``Q`` whatever its weights, so it carries no
   evidence: the statistic ``S`` weights each paired layer by its parameters times
   ``1 - C_out(b) / (C_in(a) k)`` (floored at 0).

The least-squares maps make any two models look more alike than a permutation does, so the null of
``S`` (random re-initialisations and independent reference models) must be computed the same way:
:func:`compare_aligned` is the comparator the ownership null uses too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from .lineage import Capture, Layer, LineageResult, _importance, canonical_of, compare_layers, correlation

RIDGE = 1e-6  # relative ridge of the least-squares junction maps (dead channels get ~zero coefficients)
BAND = 6  # layers considered as a partner around the proportional diagonal (bounds time on deep nets)
# a widened copy: its source's channels and a few dead ones; `srprint attack widen` adds 4, and the narrowest
# published layer has 12 channels (16 / 12 = 4 / 3); BSRN's 1x1 layer (48 of 96) against ESPCN's (32 of 64),
# at 1.5, raised ESPCN's null from 0.02 to 0.23 (seen on a scored source's null; the cap is the attack's)
MAX_WIDENING = 4 / 3
PAIRING_POSITIONS = 1024  # positions scored when pairing layers (a quarter of the captured: 4x less time on deep nets)
ZERO_BORDER = 1e-7  # a kernel border below this share of the layer's largest |w| counts as zero padding


def _centred(a: np.ndarray) -> np.ndarray:
    return a - a.mean(axis=1, keepdims=True)


class _Side:
    """A layer's centred activations and, when first asked for, their regularised inverse Gram matrix.

    The inverse is lazy: a side is either predicted (its variance) or predicts (its inverse), and half of
    the sides a comparison makes are only ever predicted (a third of a CRAFT pair's time went to inverses
    never read)."""

    def __init__(self, act: np.ndarray) -> None:
        self.x = _centred(act)
        self.var = float(np.einsum("ij,ij->", self.x, self.x))  # the Gram matrix's trace, without the matrix
        self._inv: np.ndarray | None = None

    @property
    def inv(self) -> np.ndarray:
        if self._inv is None:
            gram = self.x @ self.x.T
            lam = RIDGE * max(self.var / max(gram.shape[0], 1), 1e-300)
            self._inv = np.linalg.inv(gram + lam * np.eye(gram.shape[0]))
        return self._inv


def _r2(target: _Side, pred: _Side) -> float:
    """Share of ``target``'s variance a linear map of ``pred`` explains (0 for a constant target)."""
    if target.var <= 0 or pred.var <= 0 or target.x.shape[1] != pred.x.shape[1]:
        return 0.0
    cross = target.x @ pred.x.T
    explained = float(np.sum((cross @ pred.inv) * cross))
    return float(min(max(explained / target.var, 0.0), 1.0))


def _map(target: _Side, pred: _Side) -> np.ndarray:
    """Least-squares ``M`` with ``target.x ~ M pred.x``."""
    return (target.x @ pred.x.T) @ pred.inv


def _kernel2d(layer: Layer, w: np.ndarray) -> np.ndarray:
    """``(out, in, kh, kw)`` view of an ``(out, in, k)`` weight (linear layers and 1-D kernels: ``kh = 1``)."""
    k = w.shape[2]
    kern = layer.kernel if len(layer.kernel) == 2 and layer.kernel[0] * layer.kernel[1] == k else (1, k)
    return w.reshape(w.shape[0], w.shape[1], *kern)


def trim_zero_border(w: np.ndarray) -> np.ndarray:
    """Drop kernel rows / columns that are zero on both sides across the whole layer (``(o, i, kh, kw)``)."""
    top = float(np.abs(w).max()) if w.size else 0.0
    if top == 0:
        return w
    while w.shape[2] > 2 and max(np.abs(w[:, :, 0]).max(), np.abs(w[:, :, -1]).max()) <= ZERO_BORDER * top:
        w = w[:, :, 1:-1]
    while w.shape[3] > 2 and max(np.abs(w[:, :, :, 0]).max(), np.abs(w[:, :, :, -1]).max()) <= ZERO_BORDER * top:
        w = w[:, :, :, 1:-1]
    return w


def _embed(w: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """``w`` zero-padded at the centre of a ``kh x kw`` kernel (unchanged when already that large)."""
    ph, pw = max(kh - w.shape[2], 0), max(kw - w.shape[3], 0)
    if not (ph or pw):
        return w
    return np.pad(w, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))


def _common_taps(la: Layer, lb: Layer) -> tuple[Layer, Layer]:
    """The two layers with their kernels cut to the central taps both have (unchanged when equal)."""
    if la.weight.shape == lb.weight.shape:
        return la, lb
    wa, wb = _kernel2d(la, la.weight), _kernel2d(lb, lb.weight)
    kh, kw = min(wa.shape[2], wb.shape[2]), min(wa.shape[3], wb.shape[3])

    def cut(layer: Layer, w: np.ndarray) -> Layer:
        dh, dw = w.shape[2] - kh, w.shape[3] - kw
        w = w[:, :, dh // 2 : w.shape[2] - (dh - dh // 2), dw // 2 : w.shape[3] - (dw - dw // 2)]
        return replace(layer, weight=np.ascontiguousarray(w.reshape(w.shape[0], w.shape[1], -1)), kernel=(kh, kw))

    return cut(la, wa), cut(lb, wb)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return 0.0 if na == 0 or nb == 0 else float(np.dot(a.ravel(), b.ravel()) / (na * nb))


def narrowed(la: Layer, lb: Layer) -> tuple[Layer, Layer] | None:
    """The two layers cut to the input and output channels they share (module docstring, 4), or None unless
    ``lb`` is a widened ``la``: as wide or wider on both sides, by at most :data:`MAX_WIDENING`. Also None
    when they are grouped or were seen at different numbers of probe positions.

    Choosing a subset of the wider layer's channels raises the cosine of unrelated layers too: cutting
    ESPCN's 64 channels to FSRCNN's 56, or BSRN's 48 to ESPCN's 32, made independent models look related
    (S 0.04 -> 0.42 and 0.02 -> 0.23), and so the nulls wider (ESPCN's int8 copy went undecided).
    """
    wo, wi = lb.weight.shape[0] / la.weight.shape[0], lb.weight.shape[1] / max(la.weight.shape[1], 1)
    if not (1.0 <= wo <= MAX_WIDENING + 1e-9 and 1.0 <= wi <= MAX_WIDENING + 1e-9) or (wo == wi == 1.0):
        return None
    if (la.groups != 1 or lb.groups != 1 or la.in_act.shape[1] != lb.in_act.shape[1]
            or la.out_act.shape[1] != lb.out_act.shape[1] or la.in_act.shape[0] != la.weight.shape[1]
            or lb.in_act.shape[0] != lb.weight.shape[1]):
        return None
    # the source's channels in the wider layer: the best-correlated pairs (rectangular Hungarian matching,
    # as lineage.match_channels on equal widths)
    oa, ob = linear_sum_assignment(-correlation(la.out_act, lb.out_act))
    ia, ib = linear_sum_assignment(-correlation(la.in_act, lb.in_act))

    def cut(layer: Layer, o: np.ndarray, i: np.ndarray) -> Layer:
        return replace(layer, weight=np.ascontiguousarray(layer.weight[o][:, i]), in_act=layer.in_act[i],
                       out_act=layer.out_act[o])

    return cut(la, oa, ia), cut(lb, ob, ib)


def identity_frame(la: Layer, lb: Layer) -> float:
    """Cosine of two same-shape layers' canonical (Sinkhorn-balanced) weights with their channels as they
    are, weighted as in :func:`~.lineage.compare_layers` (module docstring, 4).

    Positive rescaling cancels in the balancing; a permutation, a sign flip or a mixed junction does not,
    and those are what the other two frames align. This one needs no activations, so it still sees a copy
    whose activations the edit has decorrelated from its source's (a per-tensor int8 copy of a network with
    multiplicative attention)."""
    ca, cb = canonical_of(la), canonical_of(lb)
    m = np.sqrt(_importance(la.weight))[:, :, None]
    return _cosine(ca * m, cb * m)


class PairComparison(NamedTuple):
    """One paired layer's values (:func:`compare_pair`)."""

    cosine: float  # the best frame's cosine
    evidence: float  # the pair's evidence weight
    identity: float | None  # the identity frame's cosine (same-shape layers with evidence; else None)


def compare_pair(la: Layer, lb: Layer) -> PairComparison:
    """Cosine, evidence weight and identity-frame cosine of two paired layers in the source's frame (module
    docstring, 2-4).

    Grouped convolutions (depthwise and the like) have no general input map: their channels are matched
    one to one by the output map's strongest coefficients instead. Returns cosine and evidence 0 when the two
    layers were seen at different numbers of probe positions.
    """
    (a_in, a_out), (b_in, b_out) = _layer_sides(la), _layer_sides(lb)
    if a_in.x.shape[1] != b_in.x.shape[1] or a_out.x.shape[1] != b_out.x.shape[1]:
        return PairComparison(0.0, 0.0, None)
    wa, wb = _kernel2d(la, la.weight), _kernel2d(lb, lb.weight)
    q = _map(a_out, b_out)  # (out_a, out_b)
    if la.groups == 1 and lb.groups == 1:
        p = _map(b_in, a_in)  # (in_b, in_a): suspect inputs from the source's
        wb_src = np.einsum("oihw,ij->ojhw", wb, p)
    elif la.groups == lb.groups and wa.shape[1] == wb.shape[1] and wa.shape[0] == wb.shape[0]:
        wb_src = wb  # per-group channels: compared through the output map only
    else:
        return PairComparison(0.0, 0.0, None)
    aligned = np.einsum("po,ojhw->pjhw", q, wb_src)
    ta, tb = trim_zero_border(wa), trim_zero_border(aligned)
    kh, kw = max(ta.shape[2], tb.shape[2]), max(ta.shape[3], tb.shape[3])
    ta, tb = _embed(ta, kh, kw), _embed(tb, kh, kw)
    imp = np.sqrt(_importance(ta.reshape(ta.shape[0], ta.shape[1], -1)))[:, :, None, None]
    cos = _cosine(ta * imp, tb * imp)
    identity = None
    if la.weight.shape[:2] == lb.weight.shape[:2] and la.groups == lb.groups:
        # the v2 frame (channel permutations + Sinkhorn scaling, discrete and so robust to the noise that
        # quantisation or pruning puts in the activations the least-squares maps are fitted on), on the
        # central taps both kernels have (a zero-padded copy fine-tuned afterwards has live border taps that
        # perturb its activations, and so the maps: every aligned cosine fell to 0.6-0.9, the raw central
        # taps stayed at 0.99); the null takes the same maximum, so the statistic stays calibrated
        # v3.7: also the identity frame (no channel matched), which needs no activations: an int8 copy of
        # SPAN kept every weight tensor at cosine 0.998+ while its activations decorrelated from block 1 on
        # (S 0.64 in the two frames above, 0.98 with this one); one fixed frame, not a maximum over channel
        # orders, so an independent model's layers stay near 0 in it and the null does not widen
        central = _common_taps(la, lb)
        identity = identity_frame(*central)
        cos = max(cos, compare_layers(*central), identity)
    elif (shared := narrowed(la, lb)) is not None:
        cos = max(cos, compare_layers(*_common_taps(*shared)))
    taps = ta.shape[1] * ta.shape[2] * ta.shape[3]
    informative = max(0.0, 1.0 - min(lb.weight.shape[0], b_out.x.shape[0]) / max(taps, 1))
    return PairComparison(cos, informative, identity if informative else None)


def pair_layers(a: Capture, b: Capture) -> list[tuple[int, int]]:
    """Monotone pairing of ``a``'s and ``b``'s layers maximising the summed score (module docstring, 1), on
    the layers' thinned sides (:data:`PAIRING_POSITIONS`)."""
    n, m = len(a.layers), len(b.layers)
    pa, pb = [_pairing_sides(x) for x in a.layers], [_pairing_sides(x) for x in b.layers]
    score = np.zeros((n, m))
    for i in range(n):
        centre = int(round(i * (m - 1) / max(n - 1, 1)))
        for j in range(max(0, centre - BAND), min(m, centre + BAND + 1)):
            score[i, j] = _r2(pa[i][1], pb[j][1]) + _r2(pa[i][0], pb[j][0])
    best = np.zeros((n + 1, m + 1))
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i, j] = max(best[i + 1, j], best[i, j + 1], score[i, j] + best[i + 1, j + 1] if score[i, j] > 0
                             else -np.inf)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if score[i, j] > 0 and best[i, j] == score[i, j] + best[i + 1, j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i, j] == best[i + 1, j]:
            i += 1
        else:
            j += 1
    return pairs


def _layer_sides(layer: Layer) -> tuple[_Side, _Side]:
    """The layer's input and output sides, computed once per captured layer (a source is compared with
    many models: its null, its suspects)."""
    sides = getattr(layer, "_v3_sides", None)
    if sides is None:
        sides = (_Side(layer.in_act), _Side(layer.out_act))
        layer._v3_sides = sides  # type: ignore[attr-defined]  (a cache on the capture, not a field)
    return sides


def _thinned(act: np.ndarray) -> np.ndarray:
    step = -(-act.shape[1] // PAIRING_POSITIONS)  # ceil: evenly spaced, every probe image represented
    return act[:, ::step] if step > 1 else act


def _pairing_sides(layer: Layer) -> tuple[_Side, _Side]:
    """The layer's input and output sides on at most :data:`PAIRING_POSITIONS` positions (cached)."""
    sides = getattr(layer, "_v3_pairing_sides", None)
    if sides is None:
        sides = (_Side(_thinned(layer.in_act)), _Side(_thinned(layer.out_act)))
        layer._v3_pairing_sides = sides  # type: ignore[attr-defined]  (a cache on the capture, not a field)
    return sides


def shared_start(result: LineageResult) -> float:
    """How much of two models' weights agree with no channel matched: the evidence-weighted mean of the
    identity frame's cosine over the paired layers (0 for a layer without one).

    Independently trained or initialised models sit at 0 here (within 0.01 over a network; the controls of
    ``bench/results/verification_identity_frame.md``: medians -0.001 and -0.002). A model far above that started
    from the other's weights, or from weights they share: it cannot serve as an independent sample of a null.
    """
    num = den = 0.0
    for layer in result.per_layer:
        w = layer["params"] * layer["evidence"]
        num += w * float(layer.get("identity") or 0.0)
        den += w
    return num / den if den > 0 else 0.0


def compare_aligned(a: Capture, b: Capture) -> LineageResult:
    """The v3 lineage statistic between two captured models (source ``a``, suspect ``b``).

    Parameters
    ----------
    a, b : Capture
        The source's and the suspect's captures (:func:`srprint.verification.lineage.capture_model`).

    Returns
    -------
    LineageResult
        ``similarity`` is the evidence-weighted mean cosine ``S`` over paired layers, ``coverage`` the
        share of the source's parameters in paired layers; ``per_layer`` lists each pair, ``pairs`` their layer
        indices (the population-free test reuses them: pairing is most of the time on a deep network).
    """
    per_layer: list[dict[str, Any]] = []
    num = den = 0.0
    paired = 0
    pairs = pair_layers(a, b)  # full sides (every position) only for the paired layers
    for i, j in pairs:
        la, lb = a.layers[i], b.layers[j]
        cos, informative, identity = compare_pair(la, lb)
        weight = la.size * informative
        per_layer.append({"source": la.name, "suspect": lb.name, "params": la.size, "cosine": cos,
                          "evidence": informative, "identity": identity})
        num += cos * weight
        den += weight
        paired += la.size
    total = max(a.total_params, 1)  # the share of the *source* found in the suspect (a widened copy holds it all)
    sim = num / den if den > 0 else 0.0
    return LineageResult(float(sim), float(min(paired / total, 1.0)), len(per_layer), len(a.layers), len(b.layers),
                         per_layer, pairs)
