"""Calibration: does a confidence (self-certainty, vote share, reward) mean what it says?

`expected_calibration_error` compares stated confidence with observed accuracy in equal-width bins
(Guo et al. 2017); `confidence_auroc` asks only whether confidence ranks right above wrong, which is
what a best-of-N or a confidence-gated refine step needs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .exploit import auroc


def _check(confidences: Sequence[float], correct: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} correctness flags.")
    conf = np.asarray(confidences, dtype=float)
    if conf.size and (np.isnan(conf).any() or conf.min() < 0.0 or conf.max() > 1.0):
        raise ValueError("confidences must be numbers in [0, 1]; map a raw score into [0, 1] first.")
    return conf, np.asarray(correct, dtype=bool)


def calibration_bins(confidences: Sequence[float], correct: Sequence[bool],
                     n_bins: int = 10) -> list[dict[str, float]]:
    """The non-empty equal-width bins over [0, 1]: count, mean confidence, accuracy, and edges.

    Bin b holds confidences in [b/B, (b+1)/B); the last bin also holds 1.0. For a reliability plot.

    >>> [(b["count"], b["accuracy"]) for b in calibration_bins([0.1, 0.15, 0.9], [0, 1, 1], 2)]
    [(2, 0.5), (1, 1.0)]
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}.")
    conf, ok = _check(confidences, correct)
    idx = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = idx == b
        if mask.any():
            bins.append({"low": b / n_bins, "high": (b + 1) / n_bins, "count": int(mask.sum()),
                         "confidence": float(conf[mask].mean()), "accuracy": float(ok[mask].mean())})
    return bins


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                               n_bins: int = 10) -> float:
    """ECE = Σ_b (|B_b| / N) · |accuracy(B_b) - mean confidence(B_b)| over equal-width bins.

    0 for a perfectly calibrated confidence. An empty input is an error.

    >>> round(expected_calibration_error([0.9, 0.9, 0.2, 0.2], [1, 0, 0, 0], n_bins=10), 4)
    0.3
    """
    if len(confidences) == 0:
        raise ValueError("expected_calibration_error needs at least one confidence.")
    bins = calibration_bins(confidences, correct, n_bins)
    n = sum(b["count"] for b in bins)
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins))


def confidence_auroc(confidences: Sequence[float], correct: Sequence[bool]) -> float | None:
    """AUROC of confidence for telling correct from incorrect samples; None with one class only.

    Unlike ECE this does not need confidences in [0, 1]: any score that ranks will do.

    >>> confidence_auroc([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0])
    1.0
    """
    return auroc(confidences, [bool(c) for c in correct])


def brier_score(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean squared error of confidence against correctness (0 best, 1 worst).

    >>> brier_score([1.0, 0.5], [1, 0])
    0.125
    """
    conf, ok = _check(confidences, correct)
    if conf.size == 0:
        raise ValueError("brier_score needs at least one confidence.")
    return float(np.mean((conf - ok) ** 2))
