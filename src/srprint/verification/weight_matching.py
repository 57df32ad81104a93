"""Align two same-shape layers by their weights alone: signed channel permutations (measured as lineage v3.6).

**Not part of the statistic.** v3.6 took this frame's cosine as a third frame of every layer pair and was
withdrawn after 1000+ benchmark rows (``bench/results/verification_v3.md``): it rescued ten per-tensor int8
copies, but maximising over channel orders widened the nulls (random layers: about 0.08 -> 0.17), so five
fine-tuned RDN copies fell to *undecided* and a lineage index kept 6 of its 25 parent edges. It is kept, with
its tests, for a frame that only counts a near-exact correspondence (the results page's next step).

The v2 frame (:func:`srprint.verification.lineage.compare_layers`) and the least-squares junction maps of
:mod:`srprint.verification.alignment` both find a layer's channel correspondence from the two models'
*activations* on the probes. Activations drift when a copy's function is damaged: a per-tensor int8 copy of
SPAN (-7.5 dB) keeps every weight tensor at a correlation of 0.998 or more with its source's, yet the
activation matching of its deeper layers fell apart and ``S`` fell to 0.64. Weight matching (Ainsworth et al.,
*Git Re-Basin*, ICLR 2023) finds the correspondence from the weights instead: with the input channels' order
fixed, the output channels are an assignment problem on the rows' inner products, and the other way round;
alternating the two converges in a few rounds. Signs are part of the assignment (a channel whose sign was
flipped through a residual stream or a PReLU matches with a negative inner product), positive scaling is
removed first by Sinkhorn balancing, as in v2.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .lineage import Layer, _cosine, _importance, canonical_weight, match_channels

MAX_ROUNDS = 8  # alternations of the output / input assignments (a copy converges in 2-3)


def signed_assignment(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(perm, sign)`` maximising ``sum_i sign[i] * score[i, perm[i]]`` over permutations and signs: the
    assignment of ``|score|``, each pair's sign that of its score (0 counts as +)."""
    rows, cols = linear_sum_assignment(-np.abs(score))
    perm = np.empty(score.shape[0], dtype=np.int64)
    perm[rows] = cols
    sign = np.where(score[rows, cols] < 0, -1.0, 1.0)
    out = np.ones(score.shape[0])
    out[rows] = sign
    return perm, out


def _signature_order(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """Input channels of ``cb`` matched to ``ca``'s by a signature no output permutation or sign changes: the
    sorted magnitudes of each canonical column (a start for the alternation that needs no activations)."""
    sig_a = np.sort(np.abs(ca).transpose(1, 0, 2).reshape(ca.shape[1], -1), axis=1)
    sig_b = np.sort(np.abs(cb).transpose(1, 0, 2).reshape(cb.shape[1], -1), axis=1)
    cost = (sig_a * sig_a).sum(1)[:, None] + (sig_b * sig_b).sum(1)[None, :] - 2.0 * sig_a @ sig_b.T
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(ca.shape[1], dtype=np.int64)
    order[rows] = cols
    return order


def weight_matched_cosine(la: Layer, lb: Layer) -> float | None:
    """Cosine of two same-shape layers' canonical weights after the signed channel permutations of ``lb``
    that best match ``la``'s weights (module docstring). ``None`` when the shapes differ or the layers are
    grouped (their channels cannot be reordered freely).

    Three starts are tried: the stored channel order, the order of the columns' magnitude signatures, and
    the order the two layers' input activations suggest (when they have the same shape); the largest cosine
    is returned. Rows and columns are weighted as in v2
    (:func:`srprint.verification.lineage.compare_layers`: near-zero source rows and columns count in
    proportion).
    """
    if la.weight.shape != lb.weight.shape or la.groups != 1 or lb.groups != 1:
        return None
    ca, cb = canonical_weight(la.weight), canonical_weight(lb.weight)
    m = np.sqrt(_importance(la.weight))[:, :, None]
    a = ca * m
    target = a * m  # the objective is <a, m * aligned>: each step's scores weigh the source's blocks by m
    n_in = cb.shape[1]
    rows_t = target.reshape(target.shape[0], -1)  # (out, in * k): scores as matrix products (BLAS)
    cols_t = target.transpose(1, 0, 2).reshape(n_in, -1)  # (in, out * k)
    starts = [np.arange(n_in), _signature_order(ca, cb)]
    if n_in > 1 and la.in_act.shape == lb.in_act.shape:
        starts.append(match_channels(la.in_act, lb.in_act))
    best = -1.0
    for p_in in starts:
        s_in = np.ones(n_in)
        previous: tuple[bytes, bytes] | None = None
        for _ in range(MAX_ROUNDS):
            b_in = cb[:, p_in] * s_in[None, :, None]
            p_out, s_out = signed_assignment(rows_t @ b_in.reshape(b_in.shape[0], -1).T)
            b_out = cb[p_out] * s_out[:, None, None]
            p_in, s_in = signed_assignment(cols_t @ b_out.transpose(1, 0, 2).reshape(n_in, -1).T)
            state = (p_out.tobytes(), p_in.tobytes())
            if state == previous:
                break
            previous = state
        aligned = cb[p_out][:, p_in] * s_out[:, None, None] * s_in[None, :, None]
        best = max(best, _cosine(a, aligned * m))
    return best
