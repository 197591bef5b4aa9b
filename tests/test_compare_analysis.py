"""The comparison's statistics on hand-made numbers: t quantiles, intervals, paired differences,
curve bands, compute spread, the plain-words verdict, and which samples count as a cell's sampled tokens."""

import math

import pytest

from selftaught.experiments.analysis import (Interval, compute_spread, curve_band, mean_interval, paired_bootstrap,
                                             paired_difference, t_quantile, verdict)


@pytest.mark.parametrize("df, expected", [(1, 12.706204736), (2, 4.302652730), (4, 2.776445105),
                                          (9, 2.262157163), (30, 2.042272456)])
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-8)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-8)


def test_t_quantile_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 3, 7, 25, 120):
        for p in (0.9, 0.95, 0.975, 0.995):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-7)


def test_mean_interval_by_hand():
    # mean 2, sd sqrt(2/3) over 4 values: half width t(0.975, 3) * sd / sqrt(4)
    iv = mean_interval([1.0, 2.0, 3.0, 2.0])
    half = 3.182446305284263 * math.sqrt(2 / 3) / 2
    assert iv.mean == 2.0 and iv.n == 4
    assert iv.low == pytest.approx(2.0 - half, abs=1e-9) and iv.high == pytest.approx(2.0 + half, abs=1e-9)
    assert mean_interval([5.0]) == Interval(5.0, None, None, 1)


def test_paired_difference_matches_a_known_value():
    a, b = [1.0, 2.0, 3.0, 5.5], [0.0, 2.5, 1.0, 2.0]
    iv = paired_difference(a, b)
    # differences 1, -0.5, 2, 3.5: mean 1.5, sd 1.6833, t(0.975, 3) = 3.182446
    assert iv.mean == pytest.approx(1.5)
    assert iv.low == pytest.approx(-1.1784276814, abs=1e-8) and iv.high == pytest.approx(4.1784276814, abs=1e-8)
    stats = pytest.importorskip("scipy.stats")
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), abs=1e-8)
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


def test_pairing_removes_the_shared_seed_effect():
    base = [10.0, 30.0, 50.0, 70.0]  # seeds differ a lot, the variant is always 2 points better
    iv = paired_difference([x + 2 for x in base], base)
    assert iv.mean == 2.0 and iv.low == iv.high == 2.0


def test_paired_bootstrap_contains_the_mean_and_needs_two_pairs():
    lo, hi = paired_bootstrap([1.0, 2.0, 3.0, 5.5], [0.0, 2.5, 1.0, 2.0])
    assert -0.5 <= lo < 1.5 < hi <= 3.5
    assert paired_bootstrap([1.0], [0.0]) is None


def test_curve_band_keeps_rounds_every_seed_has():
    band = curve_band([{0: 10.0, 1: 20.0, 2: 30.0}, {0: 12.0, 1: 22.0}])
    assert band["rounds"] == [0, 1] and band["mean"] == [11.0, 21.0]
    assert band["low"][0] < 11.0 < band["high"][0]


def test_compute_spread():
    assert compute_spread({"a": 100, "b": 112}) == pytest.approx(0.12)
    assert compute_spread({"a": 100, "b": None}) is None and compute_spread({"a": 1}) is None


def test_verdict_lines():
    assert verdict("bstar", "rft", Interval(1.2, -2.0, 4.4, 5)) == \
        "bstar - rft: +1.2 [-2.0, +4.4] points, not distinguishable at 5 seeds"
    assert "bstar higher at 8 seeds" in verdict("bstar", "rft", Interval(3.0, 0.5, 5.5, 8))
    assert "bstar lower" in verdict("bstar", "rft", Interval(-3.0, -5.5, -0.5, 8))
    assert "one seed: no interval" in verdict("bstar", "rft", Interval(2.0, None, None, 1))


def test_sampled_tokens_count_every_training_stage_and_not_the_held_out_ones(tmp_path):
    import json

    from selftaught.experiments.collect import read_cell

    def write(name: str, tokens: list[int], r: int = 1) -> None:
        (rounds / f"{r:03d}" / name).write_text("".join(json.dumps({"n_tokens": t}) + "\n" for t in tokens))

    rounds = tmp_path / "cells" / "bstar" / "seed0" / "rounds"
    for r, metrics in ((0, {}), (1, {"control/tokens": 1000})):
        (rounds / f"{r:03d}").mkdir(parents=True)
        (rounds / f"{r:03d}" / "metrics.json").write_text(json.dumps({"round": r, **metrics}))
    write("samples.jsonl", [10, 20])
    write("synth_samples.jsonl", [5])
    write("rationale_samples.jsonl", [7])
    (rounds / "001" / "step_labels.jsonl").write_text(json.dumps({"mc_tokens": 30, "n_steps": 3}) + "\n"
                                                      + json.dumps({"n_steps": 2}) + "\n")  # one from before the count
    (rounds / "001" / "judgments.jsonl").write_text(json.dumps({"judgments": [{"n_tokens": 4}, {"n_tokens": 6}, {}]}) + "\n")
    write("eval_samples.jsonl", [100])  # held-out: the same for every variant
    write("probe_samples.jsonl", [200])
    write("eval_samples.jsonl", [300], r=0)
    (rounds / "002").mkdir()
    write("samples.jsonl", [400], r=2)  # an unfinished round (no metrics.json) does not count
    assert read_cell(tmp_path, "bstar", 0).sampled_tokens == 10 + 20 + 5 + 7 + 30 + 4 + 6 + 1000
