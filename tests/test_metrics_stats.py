"""Wilson interval and mean CI against known values."""

import math

import pytest

from selftaught.metrics import mean_ci, wilson_interval


@pytest.mark.parametrize("successes,n,low,high", [
    (5, 10, 0.2366, 0.7634),
    (0, 10, 0.0, 0.2775),   # upper bound z^2 / (n + z^2)
    (10, 10, 0.7225, 1.0),
    (1, 1, 0.2065, 1.0),
    (50, 100, 0.4038, 0.5962),
])
def test_wilson_known_values(successes, n, low, high):
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_narrows_with_n_and_contains_the_estimate():
    for n in (10, 100, 1000):
        lo, hi = wilson_interval(n // 3, n)
        assert lo <= (n // 3) / n <= hi
    assert wilson_interval(300, 1000)[1] - wilson_interval(300, 1000)[0] < \
        wilson_interval(3, 10)[1] - wilson_interval(3, 10)[0]


def test_wilson_empty_and_bad_input():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, z=0)


def test_mean_ci():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0
    assert hi - m == pytest.approx(1.96 * 1.0 / math.sqrt(3))
    assert m - lo == pytest.approx(hi - m)
    m, lo, hi = mean_ci([0.4])
    assert m == 0.4 and math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError):
        mean_ci([])
