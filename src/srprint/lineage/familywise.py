"""Family-wise error rates of one lookup over the whole comparable group of the index.

:func:`holm` turns the confirmed candidates' p-values into family-wise error rates over the group
(untested models count as hypotheses with ``p = 1``); a lookup weights them (:func:`fwer`): the models with
the suspect's kernel layout hold half of the level (:func:`layout_weights`). :func:`find_root` is the
union-find step the lineage graph and the tree share.
"""

from __future__ import annotations

from typing import Any

LAYOUT_SHARE = 0.5  # share of the level on the candidates with the suspect's layout (set a priori: half)


def layout(stats: dict[str, Any] | None) -> tuple[int, ...] | None:
    """A model's kernel layout from its :func:`~srprint.lineage.sketch.weight_stats`: the entries of each
    kernel in name order (None without them). Fixed by the architecture and its configuration, not by the
    weights' values: fine-tunes, renamed, fp16, int8 and channel-permuted copies keep it."""
    layers = (stats or {}).get("layers")
    return tuple(int(n) for n, _ in layers) if layers else None


def layout_weights(suspect_stats: dict[str, Any] | None, group: dict[str, dict[str, Any]], m: int,
                   *, share: float = LAYOUT_SHARE) -> dict[str, float]:
    """Holm weights of one lookup's hypotheses, one per indexed model of the group (``group``: id -> stats;
    ``m``: the group's size): the models with the suspect's :func:`layout` share ``share * m`` of the total
    weight ``m``, the others the rest, equally (all 1 when either set is empty). The weights depend on
    layouts only, never on the values any test reads, so they are fixed before the lookup (the argument is
    :func:`fwer`'s)."""
    mine = layout(suspect_stats)
    same = {mid for mid, st in group.items() if mine is not None and layout(st) == mine}
    n_same, n_other = len(same), max(m - len(same), 0)
    if not n_same or not n_other:
        return {mid: 1.0 for mid in group}
    w_same, w_other = share * m / n_same, (1.0 - share) * m / n_other
    return {mid: w_same if mid in same else w_other for mid in group}


def fwer(p_values: list[float | None], weights: list[float], m: float) -> list[float | None]:
    """Weighted Holm (Holm 1979, sequentially rejective weighted Bonferroni): family-wise error rates of
    ``p_values`` with a-priori ``weights`` among hypotheses of total weight ``m`` (each untested model keeps
    its weight, as a hypothesis with ``p = 1``); equal weights of 1 are :func:`holm`.

    Why it keeps the family-wise error rate over the index at the level: (1) each untested model counts
    with ``p = 1``, never below the p-value its test would give, so every hypothesis' p-value stays valid
    whichever candidates the lookup chose to confirm (the sketch-nearest, which are the likeliest to have a
    small p); (2) weighted Holm controls the family-wise error rate for any fixed non-negative weights
    summing to ``m``, under any dependence of the p-values; (3) the weights (:func:`layout_weights`) are
    fixed by the layouts, and every null is drawn conditional on the suspect's architecture, so given the
    layouts the weights are constants and each p-value is still valid. (Holm over only the confirmed
    candidates would not keep it: they are chosen by the same weights the test reads, so their p-values
    are the smallest of the group's.)

    Parameters
    ----------
    p_values : list of float or None
        The confirmed candidates' p-values (None: decided without one; stays None).
    weights : list of float
        Each candidate's weight (positive).
    m : float
        The total weight of the group's hypotheses, tested or not.

    Returns
    -------
    list of float or None
        The adjusted p-values, in the order given.
    """
    idx = sorted((i for i, p in enumerate(p_values) if p is not None), key=lambda i: p_values[i] / weights[i])
    remaining = max(float(m), sum(weights[i] for i in idx))
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for i in idx:
        running = max(running, min(1.0, remaining * float(p_values[i]) / weights[i]))
        out[i] = running
        remaining -= weights[i]
    return out


def holm(p_values: list[float | None], m: int) -> list[float | None]:
    """Holm-adjusted p-values (family-wise error rates) of ``p_values`` among ``m >= len`` hypotheses;
    None stays None (a decision with no p-value, e.g. an exact functional identity): :func:`fwer` with
    every weight 1."""
    return fwer(p_values, [1.0] * len(p_values), m)


def find_root(parent: dict[str, str], a: str) -> str:
    """The root of ``a`` in the union-find forest ``parent`` (paths halved on the way)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a
