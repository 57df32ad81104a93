"""A population-free independence test (in the spirit of Zhu et al., ICML 2025), reported beside the null's.

Hidden units between an activation and the next layer (``conv -> ReLU/PReLU/... -> conv``) are
exchangeable: relabelling them changes nothing. Two models initialised independently therefore carry no
information about which of the suspect's units corresponds to which of the source's. Match the units
twice, through *incoming* weights (the first layer's rows, in the source's input frame) and through
*outgoing* weights (the second layer's columns, in the source's output frame); under independence the two
matchings are unrelated, so the permutation ``sigma`` that takes one to the other is uniform and its number
of fixed points ``F`` has the exact rencontres distribution (about Poisson(1)). A copy, even fine-tuned,
matches the same units both ways: ``F`` is close to the number of units. The p-value ``P(F >= f)`` needs no
reference population; over several chains the smallest is Bonferroni-corrected (valid under any dependence).

Chains are found in the captures themselves: consecutive layers whose junction is elementwise (the second
layer's input, channel by channel, is a monotone function of the first layer's output).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from .alignment import _layer_sides, _map, pair_layers
from .lineage import Capture, Layer

MIN_UNITS = 4
MONOTONE_SLACK = 0.01  # share of backward steps a channel may show and still count as monotone


def fixed_point_tail(n: int, f: int) -> float:
    """``P(F >= f)`` for the fixed points ``F`` of a uniform random permutation of ``n`` elements (exact).

    Examples
    --------
    >>> round(fixed_point_tail(10, 1), 4)  # 1 - derangements / n!
    0.6321
    >>> fixed_point_tail(5, 5) == 1 / math.factorial(5)
    True
    """
    if f <= 0:
        return 1.0

    def pmf(j: int) -> float:  # P(F = j) = (1 / j!) * sum_{i <= n - j} (-1)^i / i!
        return sum((-1) ** i / math.factorial(i) for i in range(n - j + 1)) / math.factorial(j)

    return float(min(1.0, max(0.0, sum(pmf(j) for j in range(f, n + 1)))))


def _elementwise(first: Layer, second: Layer) -> bool:
    """Whether ``second``'s input is, channel by channel, a monotone function of ``first``'s output (an
    elementwise activation between them): sorted by the output, the input never steps back."""
    a, b = first.out_act, second.in_act
    if a.shape != b.shape or a.shape[0] < MIN_UNITS or second.groups != 1:
        return False
    for c in range(a.shape[0]):
        x, y = a[c], b[c]
        span = float(np.ptp(y))
        if np.ptp(x) == 0 or span == 0:
            continue  # a dead unit says nothing either way
        steps = np.diff(y[np.argsort(x, kind="stable")])
        tol = 1e-6 * span
        if min(float(np.mean(steps < -tol)), float(np.mean(steps > tol))) > MONOTONE_SLACK:
            return False
    return True


def _match(rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    na = rows_a / np.maximum(np.linalg.norm(rows_a, axis=1, keepdims=True), 1e-30)
    nb = rows_b / np.maximum(np.linalg.norm(rows_b, axis=1, keepdims=True), 1e-30)
    r, c = linear_sum_assignment(-np.abs(na @ nb.T))  # |cos|: a sign flip through PReLU keeps the unit
    out = np.empty(len(r), dtype=np.int64)
    out[r] = c
    return out


def exact_test(a: Capture, b: Capture, *, pairs: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """The population-free p-value of the source ``a`` and suspect ``b`` (module docstring).

    Parameters
    ----------
    a, b : Capture
        The source's and the suspect's captures.
    pairs : list of (int, int), optional
        The layer pairing of :func:`~.alignment.pair_layers` on these captures, when already computed
        (:attr:`~.lineage.LineageResult.pairs` of :func:`~.alignment.compare_aligned`).

    Returns
    -------
    dict
        ``p_exact`` (Bonferroni over the chains tested; None when no chain could be tested), ``chains``
        (tested), and per chain the units and fixed points.
    """
    paired = dict(pair_layers(a, b) if pairs is None else pairs)
    rows = []
    for i in range(len(a.layers) - 1):
        j = paired.get(i)
        if j is None or paired.get(i + 1) != j + 1:
            continue
        la1, la2, lb1, lb2 = a.layers[i], a.layers[i + 1], b.layers[j], b.layers[j + 1]
        if not (_elementwise(la1, la2) and _elementwise(lb1, lb2)) or la1.groups != 1 or lb1.groups != 1:
            continue
        if lb1.weight.shape[0] != la1.weight.shape[0]:
            continue  # the same number of units on both sides (a widened copy is left to the lineage test)
        if la1.in_act.shape[1] != lb1.in_act.shape[1] or la2.out_act.shape[1] != lb2.out_act.shape[1]:
            continue  # seen at different numbers of probe positions (a strided layer in one model): no junction map
        p_in = _map(_layer_sides(lb1)[0], _layer_sides(la1)[0])  # suspect inputs from the source's
        incoming_b = np.einsum("oit,ij->ojt", lb1.weight, p_in).reshape(lb1.weight.shape[0], -1)
        incoming_a = la1.weight.reshape(la1.weight.shape[0], -1)
        q_out = _map(_layer_sides(la2)[1], _layer_sides(lb2)[1])  # source outputs from the suspect's
        outgoing_b = np.einsum("po,oit->pit", q_out, lb2.weight).transpose(1, 0, 2).reshape(lb2.weight.shape[1], -1)
        outgoing_a = la2.weight.transpose(1, 0, 2).reshape(la2.weight.shape[1], -1)
        if outgoing_a.shape != outgoing_b.shape or incoming_a.shape != incoming_b.shape:
            continue
        by_in, by_out = _match(incoming_a, incoming_b), _match(outgoing_a, outgoing_b)
        n, fixed = len(by_in), int((by_in == by_out).sum())
        rows.append({"source": la1.name, "suspect": lb1.name, "units": n, "fixed_points": fixed,
                     "p": fixed_point_tail(n, fixed)})
    if not rows:
        return {"p_exact": None, "chains": 0, "per_chain": []}
    return {"p_exact": float(min(1.0, len(rows) * min(r["p"] for r in rows))), "chains": len(rows),
            "per_chain": rows}
