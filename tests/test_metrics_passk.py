"""pass@k, maj@k, mean@n against brute force over subsets and hand-made cases."""

import itertools
import math

import pytest

from selftaught.metrics import (is_right, maj_at_k, maj_at_k_expected, majority_vote, mean_at_n, pass_at_k,
                                pass_at_k_curve)


def brute_pass_at_k(n, c, k):
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 7))
def test_pass_at_k_matches_brute_force_over_all_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    # the product form must not overflow where C(n, k) would
    value = pass_at_k(2000, 3, 100)
    expected = 1 - math.comb(1997, 100) / math.comb(2000, 100)
    assert value == pytest.approx(expected, rel=1e-9)


def test_pass_at_1_is_the_fraction_correct():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)


@pytest.mark.parametrize("n,c,k", [(4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)])
def test_pass_at_k_rejects_impossible_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_curve_averages_over_problems_and_allows_per_problem_n():
    curve = pass_at_k_curve([1, 0, 3], [2, 4, 3], [1, 2])
    assert curve[1] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert curve[2] == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    with pytest.raises(ValueError):
        pass_at_k_curve([1, 2], [4], [1])
    with pytest.raises(ValueError):
        pass_at_k_curve([], 4, [1])


def test_mean_at_n_averages_per_problem_then_over_problems():
    assert mean_at_n([[True, False], [True, True, True, False]]) == pytest.approx((0.5 + 0.75) / 2)
    assert mean_at_n([[], [True]]) == 1.0
    with pytest.raises(ValueError):
        mean_at_n([[]])


def test_majority_vote_ignores_none_and_breaks_ties_by_first_occurrence():
    assert majority_vote(["b", "a", "a", "b"]) == ("b", 2)
    assert majority_vote([None, "a", "b"]) == ("a", 1)
    assert majority_vote([None, None, None, "c"]) == ("c", 1)
    assert majority_vote([]) == (None, 0)
    assert majority_vote([" 7 ", "7", "8"]) == ("7", 2)


def test_maj_at_k_uses_only_the_first_k_answers():
    answers = [["1", "2", "2", "2"]]
    assert maj_at_k(answers, ["1"], k=1) == 1.0
    assert maj_at_k(answers, ["1"], k=2) == 1.0  # tie 1-2: first seen wins
    assert maj_at_k(answers, ["1"], k=3) == 0.0
    assert maj_at_k(answers, ["2"], k=4) == 1.0


def test_maj_at_k_unparsed_do_not_vote_and_all_unparsed_is_wrong():
    assert maj_at_k([[None, None, "3"]], ["3"], k=3) == 1.0
    assert maj_at_k([[None, None, "3"]], ["3"], k=2) == 0.0


def test_maj_at_k_accepts_a_set_of_gold_forms_and_skips_label_free_problems():
    answers = [["0.5", "1/2", "1/2"], ["9", "9"], ["4"]]
    assert maj_at_k(answers, [{"1/2", "0.5"}, None, "5"], k=3) == 0.5
    with pytest.raises(ValueError):
        maj_at_k(answers[:1], [None], k=1)
    with pytest.raises(ValueError):
        maj_at_k(answers, ["1"], k=1)


def brute_expected_maj(answers, gold, k):
    subsets = list(itertools.combinations(answers, k))
    return sum(majority_vote(list(s))[0] == gold for s in subsets) / len(subsets)


def test_maj_at_k_expected_is_exact_over_subsets_when_small():
    answers = ["a", "b", None, "a", "c", "b"]
    for k in range(1, 7):
        got = maj_at_k_expected([answers], ["a"], k=k)
        assert got == pytest.approx(brute_expected_maj(answers, "a", k))


def test_maj_at_k_expected_samples_reproducibly_when_large():
    answers = [["a"] * 12 + ["b"] * 8]
    first = maj_at_k_expected(answers, ["a"], k=5, max_subsets=200, seed=3)
    assert first == maj_at_k_expected(answers, ["a"], k=5, max_subsets=200, seed=3)
    exact = maj_at_k_expected(answers, ["a"], k=5, max_subsets=10**6)
    assert abs(first - exact) < 0.1
    with pytest.raises(ValueError):
        maj_at_k_expected([["a"]], ["a"], k=2)


def test_majority_vote_and_maj_at_k_count_equivalent_answers_as_one():
    assert majority_vote(["9", "1,000", "9", "1000.0", "\\boxed{1000}"]) == ("1,000", 3)
    assert majority_vote(["9", "1,000", "9", "1000.0"], mode="exact") == ("9", 2)
    assert maj_at_k([["8 legs", "9", "8"]], ["8"], k=3) == 1.0
    assert maj_at_k([["Pairs", "Pairs", "Paris"]], ["Paris"], k=3) == 0.0  # an anagram is another answer
    assert is_right("1/2", {"0.5"}) and not is_right("12 (10+2)", "144")
