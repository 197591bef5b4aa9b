"""select.max_answer_share: the cap on one answer's share of a round's kept records (select/balance.py)."""

import pytest

from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.select.balance import answer_limit, cap_answer_share
from selftaught.select.records import Selected


def _records(spec):
    """Selected records from (problem, answer) pairs; a sample id per record."""
    return [Selected(p, f"{p}#{i}", "q", f"... Answer: {a}", label=a) for i, (p, a) in enumerate(spec)]


def test_no_answer_is_over_the_share_and_the_others_are_untouched():
    recs = _records([(f"p{i}", "1") for i in range(30)] + [(f"q{i}", str(i + 2)) for i in range(10)])
    kept = cap_answer_share(recs, 0.5, seed=0)
    labels = [r.label for r in kept]
    assert labels.count("1") == 10 and len(kept) == 20  # the ten other answers allow ten "1"s
    assert [r for r in kept if r.label != "1"] == recs[30:]
    assert [r.sample_id for r in kept] == sorted((r.sample_id for r in kept), key=lambda s: int(s.split("#")[1]))


def test_equal_numbers_are_one_answer():
    recs = _records([("a", "1"), ("b", "1.0"), ("c", " 1 "), ("d", "2")])
    kept = cap_answer_share(recs, 0.5, seed=0)
    assert len(kept) == 2 and kept[-1].label == "2" and float(kept[0].label) == 1


def test_the_capped_answer_is_spread_over_its_problems_before_a_second_record_of_one():
    recs = _records([("a", "1")] * 5 + [("b", "1")] * 5 + [("c", "1")] * 5 + [(f"z{i}", str(i + 5)) for i in range(3)])
    kept = cap_answer_share(recs, 0.5, seed=3)
    ones = [r.problem_id for r in kept if r.label == "1"]
    assert len(ones) == 3 and sorted(ones) == ["a", "b", "c"]


def test_the_choice_is_seeded():
    recs = _records([(f"p{i}", "1") for i in range(20)] + [("x", "2"), ("y", "3")])
    assert cap_answer_share(recs, 0.5, seed=1) == cap_answer_share(recs, 0.5, seed=1)
    assert len({tuple(r.sample_id for r in cap_answer_share(recs, 0.5, seed=s)) for s in range(6)}) > 1


def test_one_answer_alone_keeps_one_record_and_unlabelled_records_count_but_stay():
    recs = _records([(f"p{i}", "7") for i in range(8)])
    assert len(cap_answer_share(recs, 0.5, seed=0)) == 1
    unlabelled = [Selected(f"u{i}", f"u{i}#0", "q", "text") for i in range(4)]
    kept = cap_answer_share(recs + unlabelled, 0.5, seed=0)
    assert sum(r.label == "7" for r in kept) == 4 and unlabelled == kept[-4:]


@pytest.mark.parametrize("counts, others, share, limit", [([60, 10, 5], 0, 0.5, 15), ([3, 3], 0, 0.5, 3),
                                                          ([10], 0, 1.0, 10), ([10, 1], 0, 0.1, 1)])
def test_answer_limit(counts, others, share, limit):
    assert answer_limit(counts, others, share) == limit


def test_no_cap_keeps_everything():
    recs = _records([(f"p{i}", "1") for i in range(5)])
    assert cap_answer_share(recs, None, seed=0) == recs and cap_answer_share([], 0.5, seed=0) == []


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_a_share_out_of_range_is_a_config_error_naming_the_key(value):
    with pytest.raises(ConfigError, match="max_answer_share"):
        load_config(None, [f"select.max_answer_share={value}"])
