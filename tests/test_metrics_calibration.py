"""ECE by hand, reliability bins, confidence AUROC, Brier."""

import pytest

from selftaught.metrics import (brier_score, calibration_bins, confidence_auroc, ece,
                                expected_calibration_error)


def test_ece_hand_example():
    conf = [0.95, 0.85, 0.65, 0.62, 0.15, 0.05]
    correct = [1, 1, 0, 1, 0, 0]
    # bins of width 0.1: [0.9,1): .95 acc 1 -> .05; [0.8,.9): .85 acc 1 -> .15;
    # [0.6,.7): mean .635 acc .5 -> .135 (x2); [0.1,.2): .15 acc 0 -> .15; [0,.1): .05 acc 0 -> .05
    expected = (0.05 + 0.15 + 2 * 0.135 + 0.15 + 0.05) / 6
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    assert ece is expected_calibration_error


def test_ece_is_zero_when_calibrated_and_one_when_maximally_wrong():
    assert ece([0.5, 0.5], [1, 0]) == pytest.approx(0.0)
    assert ece([1.0, 1.0, 0.0], [0, 0, 1]) == pytest.approx(1.0)


def test_ece_bin_count_matters():
    conf, correct = [0.1, 0.3], [0, 1]
    assert ece(conf, correct, n_bins=1) == pytest.approx(abs(0.5 - 0.2))
    assert ece(conf, correct, n_bins=10) == pytest.approx((0.1 + 0.7) / 2)


def test_bins_put_one_in_the_last_bin_and_skip_empty_bins():
    bins = calibration_bins([1.0, 0.0, 0.96], [1, 0, 1], n_bins=5)
    assert [(b["low"], b["count"]) for b in bins] == [(0.0, 1), (0.8, 2)]


def test_calibration_rejects_bad_input():
    with pytest.raises(ValueError):
        ece([1.2], [1])
    with pytest.raises(ValueError):
        ece([], [])
    with pytest.raises(ValueError):
        ece([0.5], [1, 0])
    with pytest.raises(ValueError):
        ece([0.5], [1], n_bins=0)


def test_confidence_auroc_and_brier():
    assert confidence_auroc([0.2, 0.9, 0.4], [0, 1, 0]) == 1.0
    assert confidence_auroc([5.0, -1.0], [1, 0]) == 1.0  # any ranking score works
    assert confidence_auroc([0.5, 0.6], [1, 1]) is None
    assert brier_score([0.8, 0.3], [1, 0]) == pytest.approx((0.04 + 0.09) / 2)
