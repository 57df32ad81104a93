"""Rates with their uncertainty: the one Wilson score interval every table uses."""

from __future__ import annotations

import math


def wilson_interval(k: int, n: int, *, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of the proportion ``k / n`` (95 % by default).

    Parameters
    ----------
    k : int
        Successes.
    n : int
        Trials; ``(0.0, 1.0)`` when 0.
    z : float, optional
        Standard-normal quantile of the interval's level.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Raises
    ------
    ValueError
        If ``k`` is outside ``[0, n]``.

    Examples
    --------
    >>> [round(x, 3) for x in wilson_interval(11, 11)]
    [0.741, 1.0]
    """
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, n], got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
