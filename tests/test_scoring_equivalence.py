"""Answer equivalence, grouping and the vote with its tie rule."""

import pytest

from selftaught.scoring.equivalence import equivalent, group_answers, looks_mathematical, vote


def test_half_in_three_spellings_is_one_group():
    groups = group_answers(["1/2", "0.5", "\\frac{1}{2}"])
    assert [(g.answer, g.members) for g in groups] == [("1/2", [0, 1, 2])]


def test_distinct_numbers_stay_apart_and_unparsed_never_votes():
    groups = group_answers(["3", None, "4", "3.0", None])
    assert [(g.answer, g.members) for g in groups] == [("3", [0, 3]), ("4", [2])]


def test_words_and_lists_are_not_compared_by_math_verify():
    assert not equivalent("hello", "olleh")          # math-verify alone calls these equal (h*e*l*l*o)
    assert not equivalent("2, 3", "3, 2")            # an ordered list, not a set
    assert equivalent("Paris", " paris. ")
    assert not looks_mathematical("True")


def test_modes():
    assert equivalent("1/2", "0.5", "math")
    assert not equivalent("1/2", "0.5", "exact")
    with pytest.raises(ValueError):
        equivalent("1", "1", "fuzzy")


def test_vote_majority_and_share():
    v = vote(["7", "8", "7", None])
    assert (v.answer, v.index, v.share) == ("7", 0, 0.5)


def test_tie_goes_to_the_answer_seen_first():
    assert vote(["5", "4", "4", "5"]).answer == "5"
    assert vote(["4", "5", "5", "4"]).answer == "4"
    # equivalent spellings merge before the tie is decided
    assert vote(["2", "1/2", "0.5", "2.0"]).answer == "2"
    assert vote(["1/2", "2", "0.5", "2.0"]).answer == "1/2"


def test_weighted_vote_and_errors():
    assert vote(["4", "5", "4"], weights=[0.1, 0.5, 0.3]).answer == "5"
    assert vote(["4", "5"], weights=[0.5, 0.5]).answer == "4"  # weight tie: first seen
    assert vote([None, None]).answer is None and vote([None]).share == 0.0
    with pytest.raises(ValueError):
        vote(["4"], weights=[-1.0])
    with pytest.raises(ValueError):
        vote(["4", "5"], weights=[1.0])
