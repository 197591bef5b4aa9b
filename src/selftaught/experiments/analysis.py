"""Statistics over seeds: mean and t interval per variant, paired differences against a baseline,
learning-curve bands, compute spread, and one plain-words line per comparison.

Pure functions of numbers (numpy and math only). The Student-t quantile is computed here from the
regularised incomplete beta function because scipy is not a dependency of selftaught; a test checks
it against scipy.stats where scipy is installed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Interval:
    mean: float
    low: float | None  # None with one value: no interval
    high: float | None
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The `p` quantile of Student's t (bisection on t_cdf; 1e-10 accurate)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2.0


def mean_interval(values, level: float = 0.95) -> Interval:
    """Mean of `values` and its two-sided t interval at `level` (low/high None for a single value)."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        raise ValueError("mean_interval needs at least one value")
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, None, None, 1)
    half = t_quantile(0.5 + level / 2.0, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Interval(mean, mean - half, mean + half, int(x.size))


def paired_difference(a, b, level: float = 0.95) -> Interval:
    """Mean of a_i - b_i (values paired by position, e.g. by seed) with its paired t interval."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    return mean_interval([x - y for x, y in zip(a, b)], level)


def paired_bootstrap(a, b, level: float = 0.95, n_boot: int = 10000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile interval of the mean paired difference, resampling pairs (None under two pairs)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size < 2:
        return None
    idx = np.random.default_rng(seed).integers(0, d.size, size=(n_boot, d.size))
    means = d[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def curve_band(curves: list[dict[int, float]], level: float = 0.95) -> dict[str, list]:
    """Per round over the seeds' curves (round -> value): mean and t interval (rounds every seed has)."""
    if not curves:
        return {"rounds": [], "mean": [], "low": [], "high": []}
    rounds = sorted(set.intersection(*(set(c) for c in curves)))
    out: dict[str, list] = {"rounds": rounds, "mean": [], "low": [], "high": []}
    for r in rounds:
        iv = mean_interval([c[r] for c in curves], level)
        out["mean"].append(iv.mean)
        out["low"].append(iv.low)
        out["high"].append(iv.high)
    return out


def compute_spread(per_variant: dict[str, float | None]) -> float | None:
    """(largest - smallest) / smallest of the variants' compute figures; None if any is unknown or zero."""
    vals = list(per_variant.values())
    if len(vals) < 2 or any(v is None for v in vals) or min(vals) <= 0:
        return None
    return (max(vals) - min(vals)) / min(vals)


def verdict(name: str, baseline: str, iv: Interval, unit: str = "points", level: float = 0.95) -> str:
    """One plain-words line, e.g. `bstar - rft: +1.2 [-2.0, +4.4] points, not distinguishable at 5 seeds`."""
    head = f"{name} - {baseline}: {iv.mean:+.1f}"
    if iv.low is None:
        return f"{head} {unit}, one seed: no interval"
    where = f"at {iv.n} seeds"
    if iv.low > 0:
        words = f"{name} higher {where} ({level:.0%} interval excludes 0)"
    elif iv.high < 0:
        words = f"{name} lower {where} ({level:.0%} interval excludes 0)"
    else:
        words = f"not distinguishable {where}"
    return f"{head} [{iv.low:+.1f}, {iv.high:+.1f}] {unit}, {words}"
