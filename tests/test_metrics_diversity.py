"""Exploration metrics on hand-made samples."""

import pytest

from selftaught.core.records import Sample
from selftaught.metrics import (distinct_answers, distinct_correct_answers, distinct_correct_texts,
                                distinct_n, distinct_n_problem, mean_completion_length,
                                mean_entropy, mean_stat, mean_token_logprob, ngrams,
                                normalize_ws, sample_entropy, token_logprob)


def test_distinct_answers_counts_parsed_answers_per_problem():
    assert distinct_answers([["1", "1", "2"], ["3", None, None], [None]]) == pytest.approx(1.0)


def test_distinct_correct_answers_and_texts():
    answers = [["1/2", "0.5", "0.5", "3"]]
    texts = [["so 1/2", "so  0.5", "so 0.5\n", "so 3"]]
    correct = [[True, True, True, False]]
    assert distinct_correct_answers(answers, correct) == 2.0
    assert distinct_correct_texts(texts, correct) == 2.0
    assert distinct_correct_texts([["a"], ["b"]], [[False], [True]]) == 0.5


def test_distinct_n_by_hand():
    texts = ["the cat sat", "the cat ran"]
    assert distinct_n_problem(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n_problem(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n_problem(texts, 3) == pytest.approx(2 / 2)
    assert distinct_n_problem(texts, 4) == 0.0  # no 4-grams at all
    assert distinct_n([texts, ["a a a a"]], 1) == pytest.approx((4 / 6 + 1 / 4) / 2)
    assert distinct_n([texts, []], 2) == pytest.approx(3 / 4)  # problems without samples skipped
    with pytest.raises(ValueError):
        distinct_n_problem(texts, 0)
    with pytest.raises(ValueError):
        distinct_n([], 1)


def test_identical_samples_have_low_diversity():
    same = ["a b c d e"] * 8
    assert distinct_n_problem(same, 2) == pytest.approx(1 / 8)


def test_ngrams_and_normalize_ws():
    assert ngrams(["a"], 2) == []
    assert normalize_ws("\n a \t b  ") == "a b"


def test_sample_statistics():
    samples = [Sample("p", "x", 10, logprob=-5.0, stats={"entropy": 0.5}),
               Sample("p", "y", 20, logprob=None, stats={"mean_entropy": 1.5}),
               Sample("p", "z", 0, logprob=-1.0)]
    assert sample_entropy(samples[2]) is None
    assert mean_entropy(samples) == pytest.approx(1.0)
    assert mean_token_logprob(samples) == pytest.approx(-0.5)
    assert mean_completion_length(samples) == pytest.approx(10.0)
    assert mean_entropy(samples[2:]) is None
    assert mean_token_logprob(samples[1:]) is None
    assert mean_completion_length([]) is None


def test_logprob_falls_back_to_stats_and_generic_stat_mean():
    s = Sample("p", "x", 0, stats={"mean_logprob": -0.3, "self_certainty": 4.0})
    assert token_logprob(s) == pytest.approx(-0.3)
    assert token_logprob(Sample("p", "x", 0)) is None
    assert mean_stat([s, Sample("p", "y", 1, stats={"self_certainty": 2.0})], "self_certainty") == 3.0
    assert mean_stat([s], "missing") is None
