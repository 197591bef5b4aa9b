"""Confidence intervals for the small sample sizes a round produces.

A round evaluates tens to hundreds of problems, so a pass@1 of 0.42 means little without its
interval. `wilson_interval` is the one to use for a proportion (it behaves at 0 and at n, where the
normal "Wald" interval collapses); `mean_ci` is a normal-approximation interval for a mean of
per-problem values such as pass@k.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion `successes / n`.

    low, high = (p + z²/2n ∓ z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), clipped to [0, 1].
    With n == 0 nothing is known and the interval is the whole of [0, 1].

    >>> [round(x, 4) for x in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"wilson_interval needs 0 <= successes <= n, got successes={successes}, n={n}.")
    if z <= 0:
        raise ValueError(f"wilson_interval needs z > 0, got {z}.")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return (low, high)


def mean_ci(values: Sequence[float], z: float = 1.96) -> tuple[float, float, float]:
    """(mean, low, high): the mean with a normal-approximation interval, mean ± z·s/sqrt(n).

    `s` is the sample standard deviation (ddof=1). With a single value the spread is unknown and
    the bounds are NaN. An empty sequence is an error.

    >>> [round(x, 3) for x in mean_ci([0.0, 1.0, 1.0, 1.0])]
    [0.75, 0.26, 1.24]
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("mean_ci needs a non-empty 1-D sequence of numbers.")
    m = float(arr.mean())
    if arr.size == 1:
        return (m, math.nan, math.nan)
    half = z * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return (m, m - half, m + half)
