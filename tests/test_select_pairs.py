"""DPO pairs: a correct sample preferred over a wrong one, per problem, reproducibly."""

import pytest

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.records import Problem, Sample, Score
from selftaught.select import build_pairs


def make_round():
    problems = [Problem("a", "2+2?", "4"), Problem("b", "3+3?", "6"), Problem("c", "1+1?", "2")]
    rows = [("a", "it is 4", "correct"), ("a", "it is  4", "correct"), ("a", "it is 4!", "correct"),
            ("a", "it is 5", "incorrect"), ("a", "no idea", "unparsed"),
            ("b", "6", "correct"), ("b", "6.", "correct"),  # b: no wrong sample -> no pair
            ("c", "3", "incorrect"), ("c", "2", "correct")]
    samples, scores, counts = [], [], {}
    for pid, text, verdict in rows:
        i = counts[pid] = counts.get(pid, -1) + 1
        s = Sample(pid, text, 3, index=i)
        samples.append(s)
        scores.append(Score(s.id, text.split()[-1], verdict, float(verdict == "correct")))
    return problems, samples, scores


def test_one_pair_per_problem_that_has_both_kinds():
    pairs = build_pairs(*make_round(), conversational=False, with_ids=True)
    assert [p["problem_id"] for p in pairs] == ["a", "c"]
    c = pairs[1]
    assert (c["prompt"], c["chosen"], c["rejected"]) == ("1+1?", "2", "3")
    assert (c["chosen_id"], c["rejected_id"]) == ("c#1", "c#0")


def test_conversational_format_by_default():
    pair = build_pairs(*make_round())[-1]
    assert set(pair) == {"prompt", "chosen", "rejected"}
    assert pair["prompt"] == [{"role": "user", "content": "1+1?"}]
    assert pair["chosen"] == [{"role": "assistant", "content": "2"}]
    assert pair["rejected"] == [{"role": "assistant", "content": "3"}]


def test_many_pairs_are_distinct_and_spread_and_deduped():
    pairs = build_pairs(*make_round(), max_pairs_per_problem=10, conversational=False, with_ids=True)
    a = [(p["chosen_id"], p["rejected_id"]) for p in pairs if p["problem_id"] == "a"]
    # dedupe leaves 2 distinct correct texts (a#0, a#2) and 2 wrong ones: 4 combinations
    assert len(a) == len(set(a)) == 4
    assert {c for c, _ in a} == {"a#0", "a#2"}
    first_two = a[:2]  # the first picks use each sample once
    assert len({c for c, _ in first_two}) == 2 and len({r for _, r in first_two}) == 2


def test_reproducible_with_seed_and_unparsed_optional():
    r = make_round()
    assert build_pairs(*r, max_pairs_per_problem=2, seed=5) == build_pairs(*r, max_pairs_per_problem=2, seed=5)
    pairs = build_pairs(*r, max_pairs_per_problem=10, rejected_verdicts=("incorrect",),
                        conversational=False, with_ids=True)
    assert {p["rejected_id"] for p in pairs if p["problem_id"] == "a"} == {"a#3"}


def test_errors():
    r = make_round()
    with pytest.raises(ConfigError):
        build_pairs(*r, max_pairs_per_problem=0)
    r[0][0].prompt = [{"role": "user", "content": "2+2?"}]
    with pytest.raises(DataError, match="chat prompt"):
        build_pairs(*r, conversational=False)
