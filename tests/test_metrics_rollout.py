"""round_metrics on a hand-made round, alignment checks."""

import json

import pytest

from selftaught.core.errors import DataError
from selftaught.core.records import Problem, Sample, Score
from selftaught.metrics import group_by_problem, round_metrics


def make_round():
    problems = [Problem("p1", "2+2?", "4"), Problem("p2", "3*3?", "9"),
                Problem("p3", "unused", "1")]
    raw = {  # problem -> (text, extracted, verdict) per sample
        "p1": [("a 4", "4", "correct"), ("b 4", "4", "correct"), ("c 5", "5", "incorrect"),
               ("d", None, "unparsed")],
        "p2": [("x 8", "8", "incorrect"), ("y 8", "8", "incorrect"), ("z 9", "9", "correct"),
               ("w 7", "7", "incorrect")],
    }
    samples, scores = [], []
    for pid, rows in raw.items():
        for i, (text, ext, verdict) in enumerate(rows):
            s = Sample(pid, text, n_tokens=2 + i, logprob=-1.0 * (2 + i),
                       finish_reason="length" if verdict == "unparsed" else "stop",
                       index=i, stats={"entropy": 0.25 * i})
            samples.append(s)
            scores.append(Score(s.id, ext, verdict, 1.0 if verdict == "correct" else 0.0))
    return problems, samples, scores


def test_round_metrics_hand_computed():
    m = round_metrics(*make_round(), ks=(1, 2, 4, 8))
    assert m["n_problems"] == 2 and m["n_samples"] == 8
    assert m["pass@1"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["pass@2"] == pytest.approx(((1 - 1 / 6) + (1 - 3 / 6)) / 2)
    assert m["pass@4"] == 1.0
    assert "pass@8" not in m and "maj@8" not in m  # k > n samples
    assert m["maj@4"] == 0.5  # p1 votes 4 (right), p2 votes 8 (wrong)
    assert m["maj@2"] == 0.5
    assert m["mean@4"] == pytest.approx(3 / 8)
    assert m["pass@1_low"] < 3 / 8 < m["pass@1_high"]
    assert m["unparsed_rate"] == pytest.approx(1 / 8)
    assert m["cut_rate"] == pytest.approx(1 / 8)  # finish_reason "length"
    assert m["truncated_rate"] == 0.0  # no score says "truncated"
    assert m["reward"] == pytest.approx(3 / 8)
    assert m["distinct_answers"] == pytest.approx((2 + 3) / 2)
    assert m["distinct_correct"] == pytest.approx((2 + 1) / 2)
    assert m["distinct_correct_answers"] == pytest.approx(1.0)
    assert m["distinct_1gram"] == pytest.approx((6 / 7 + 7 / 8) / 2)
    assert m["distinct_4gram"] == 0.0
    assert m["entropy"] == pytest.approx(0.375)
    assert m["logprob"] == pytest.approx(-1.0)
    assert m["self_certainty"] is None
    assert m["completion_length"] == pytest.approx(3.5)
    assert m["tokens"] == 28
    json.dumps(m, allow_nan=False)  # JSON-ready as metrics.json


def test_round_metrics_prefix_label_free_and_empty():
    problems, samples, scores = make_round()
    for p in problems:
        p.answer = None
    m = round_metrics(problems, samples, scores, ks=(1, 4), prefix="rollout/")
    assert all(k.startswith("rollout/") for k in m)
    assert m["rollout/maj@4"] is None
    empty = round_metrics(problems, [], [], prefix="rollout/")
    assert empty == {"rollout/n_problems": 0, "rollout/n_samples": 0}


def test_round_metrics_without_backend_stats():
    problems, samples, scores = make_round()
    for s in samples:
        s.stats, s.logprob = {}, None
    m = round_metrics(problems, samples, scores, ks=(1,))
    assert m["entropy"] is None and m["logprob"] is None


def test_scores_must_align_with_samples():
    problems, samples, scores = make_round()
    with pytest.raises(DataError, match="same order"):
        group_by_problem(problems, samples, scores[1:] + scores[:1])
    with pytest.raises(DataError, match="scores"):
        group_by_problem(problems, samples, scores[:-1])
    with pytest.raises(DataError, match="not among the problems"):
        group_by_problem(problems[1:], samples, scores)
    with pytest.raises(DataError, match="twice"):
        group_by_problem(problems + problems[:1], samples, scores)
    scores[0].sample_id = ""  # an anonymous score aligns by position
    assert group_by_problem(problems, samples, scores)[0].correct[0] is True
