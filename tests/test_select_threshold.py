"""Rule `threshold`: keep samples whose score is at least a threshold."""

import pytest

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.records import Problem, Sample, Score
from selftaught.select import make_threshold, sample_value, select


def make_round():
    problems = [Problem("a", "qa"), Problem("b", "qb")]
    specs = [("a", "a0", 0.9, -2.0, {"self_certainty": 5.0}, "x"),
             ("a", "a1", 0.4, -8.0, {"self_certainty": 1.0}, None),
             ("a", "a2", 0.7, None, {}, "y"),
             ("b", "b0", 0.5, -1.0, {"self_certainty": 2.0}, "z")]
    samples, scores = [], []
    counts = {}
    for pid, text, reward, logprob, stats, ext in specs:
        i = counts[pid] = counts.get(pid, -1) + 1
        s = Sample(pid, text, 4, logprob=logprob, index=i, stats=stats)
        samples.append(s)
        scores.append(Score(s.id, ext, "unparsed" if ext is None else "incorrect", reward, "rm"))
    return problems, samples, scores


def ids(kept):
    return [k.sample_id for k in kept]


def test_threshold_on_reward_is_inclusive():
    assert ids(select("threshold", *make_round(), threshold=0.5)) == ["a#0", "a#2", "b#0"]
    kept = select("threshold", *make_round(), threshold=0.9)
    assert ids(kept) == ["a#0"]
    assert kept[0].score == 0.9 and kept[0].label == "x" and kept[0].label_source == "score"


def test_threshold_on_logprob_and_stats_keys():
    # per-token logprob: a0 -0.5, a1 -2.0, a2 missing (not kept), b0 -0.25
    assert ids(select("threshold", *make_round(), threshold=-1.0, key="logprob")) == ["a#0", "b#0"]
    assert ids(select("threshold", *make_round(), threshold=2.0, key="self_certainty")) == ["a#0", "b#0"]


def test_threshold_on_given_values_aligned_with_samples():
    kept = select("threshold", *make_round(), threshold=0.0, values=[-1.0, 1.0, float("nan"), 0.0])
    assert ids(kept) == ["a#1", "b#0"]
    with pytest.raises(DataError, match="one value per sample"):
        select("threshold", *make_round(), threshold=0.0, values=[1.0])


def test_require_parsed_drops_unparsed():
    assert ids(select("threshold", *make_round(), threshold=0.0, require_parsed=True)) == \
        ["a#0", "a#2", "b#0"]


def test_max_per_problem_keeps_the_top_scores():
    kept = select("threshold", *make_round(), threshold=0.0, max_per_problem=2)
    assert ids(kept) == ["a#0", "a#2", "b#0"]  # a's two best (0.9, 0.7), in sample order


def test_unknown_key_names_what_is_there():
    with pytest.raises(DataError, match="self_certainty"):
        select("threshold", *make_round(), threshold=0.0, key="confidence")


def test_threshold_is_required_and_numeric():
    with pytest.raises(ConfigError, match="needs option"):
        select("threshold", *make_round())
    with pytest.raises(ConfigError):
        make_threshold(threshold="high")


def test_sample_value_missing_is_none():
    s = Sample("p", "t", 0, logprob=-1.0)
    assert sample_value(s, Score("p#0", None, "unparsed", 0.0), "logprob") is None
    assert sample_value(s, Score("p#0", None, "unparsed", 0.0), "entropy") is None
