"""Answer collapse across problems: entropy, the top answer's share, constant-answer baselines, the flag."""

import math

from selftaught.core.records import Problem, Sample, Score
from selftaught.metrics import eval_metrics, round_metrics
from selftaught.metrics.collapse import (answer_counts, collapse_message, collapse_metrics, collapse_warning,
                                         entropy_bits)


def _eval(golds, answers):
    problems = [Problem(f"p{i}", "q", g) for i, g in enumerate(golds)]
    samples = [Sample(f"p{i}", f"Answer: {a}", 4) for i, a in enumerate(answers)]
    scores = [Score(s.id, a, "unparsed" if a is None else ("correct" if a == g else "incorrect"),
                    float(a == g)) for s, a, g in zip(samples, answers, golds)]
    return eval_metrics(problems, samples, scores)


# letter_counting, 64 held-out problems: "1" is the gold answer of 39, "3" of 7 (the rest spread out).
GOLDS = ["1"] * 39 + ["3"] * 7 + ["2"] * 10 + ["4"] * 5 + ["5"] * 3


def test_a_constant_answer_that_is_the_common_gold_is_flagged_as_collapse():
    """Reported as 10.9% -> 60.9%: round 0 answered "3" to all 64, round 2 answered "1" to all 64."""
    before, after = _eval(GOLDS, ["3"] * 64), _eval(GOLDS, ["1"] * 64)
    assert round(before["eval/accuracy"], 3) == 0.109 and round(after["eval/accuracy"], 3) == 0.609
    for m, top in ((before, "3"), (after, "1")):
        assert m["eval/collapse"] is True
        assert m["eval/top_answer"] == top and m["eval/top_answer_share"] == 1.0
        assert m["eval/answer_entropy"] == 0.0
        assert m["eval/const_gold_acc"] == 39 / 64  # always "1"
        assert m["eval/const_model_acc"] == m["eval/accuracy"]
        assert m["eval/const_gold_acc_low"] < m["eval/const_gold_acc"] < m["eval/const_gold_acc_high"]
    assert "no better than a constant answer" in collapse_message(after)


def test_a_model_that_answers_each_problem_is_not_flagged():
    golds = [str(i % 16) for i in range(64)]
    m = _eval(golds, golds[:56] + ["99"] * 8)  # 87.5% right, answers spread over 17 values
    assert m["eval/collapse"] is False and collapse_message(m) is None
    assert m["eval/top_answer_share"] == 8 / 64 and m["eval/const_gold_acc"] == 4 / 64
    assert 3.9 < m["eval/answer_entropy"] < 4.1


def test_accuracy_within_the_constant_baselines_interval_is_flagged_even_with_spread_answers():
    """gcd: always "2" would score 29.7%; the model's 37.5% is inside that baseline's interval."""
    golds = ["2"] * 19 + ["1"] * 17 + [str(3 + i) for i in range(28)]
    answers = golds[:24] + [str(100 + i) for i in range(40)]  # 24/64 = 37.5%, no answer over half
    m = _eval(golds, answers)
    assert m["eval/top_answer_share"] < 0.5
    assert m["eval/const_gold_acc"] == 19 / 64 and m["eval/accuracy"] < m["eval/const_gold_acc_high"]
    assert m["eval/collapse"] is True


def test_one_answer_over_half_the_problems_is_flagged_when_no_baseline_is_right():
    golds = [str(i) for i in range(10)]
    m = collapse_metrics(["7"] * 6 + ["0", "1", "2", "3"], golds, accuracy=0.3)
    assert m["const_gold_acc"] == 0.1 and m["collapse"] is True
    assert collapse_metrics(["7"] * 5 + ["0", "1", "2", "3", "4"], golds, accuracy=0.5)["collapse"] is False


def test_unparsed_answers_count_in_the_share_but_not_in_the_distribution():
    m = _eval(["1", "2", "3", "4"], ["1", None, None, None])
    assert m["eval/top_answer_share"] == 0.25 and m["eval/answer_entropy"] == 0.0
    assert m["eval/const_model_acc"] == 0.25


def test_unlabelled_problems_give_no_baselines_but_still_a_share():
    m = collapse_metrics(["5", "5", "5"], [None, None, None], accuracy=0.0)
    assert m["const_gold_acc"] is None and m["const_model_acc_high"] is None and m["collapse"] is True


def test_equivalent_answers_are_one_answer():
    assert answer_counts(["1", "1.0", " 1", "1.", "2", "0.50", "1/2", "\\frac{1}{2}"])[:2] == [("1", 4), ("1/2", 2)]
    assert answer_counts(["Paris", "paris", "Pairs"]) == [("Paris", 2), ("Pairs", 1)]
    assert math.isclose(entropy_bits([2, 1, 1]), 1.5)


def test_rollout_metrics_see_collapse_across_problems():
    golds = ["1"] * 6 + ["2", "3"]
    problems = [Problem(f"p{i}", "q", g) for i, g in enumerate(golds)]
    samples = [Sample(p.id, "Answer: 1", 3, index=j) for p in problems for j in range(4)]
    scores = [Score(s.id, "1", "correct" if p.answer == "1" else "incorrect", float(p.answer == "1"))
              for p in problems for s in samples if s.problem_id == p.id]
    m = round_metrics(problems, samples, scores, ks=(1, 4), prefix="rollout/")
    assert m["rollout/top_answer_share"] == 1.0 and m["rollout/const_gold_acc"] == 0.75
    assert m["rollout/pass@1"] == 0.75 and m["rollout/collapse"] is True
    assert collapse_warning(m).startswith("warning: answer collapse (training samples)")
    # per-problem diversity cannot see it: every problem has one distinct answer either way
    assert m["rollout/distinct_answers"] == 1.0


def test_a_right_model_on_a_task_whose_golds_are_mostly_one_value_is_not_flagged():
    m = _eval(GOLDS, GOLDS)  # gives "1" to 39 of 64 problems, and each time it is right
    assert m["eval/top_answer_share"] > 0.5 and m["eval/accuracy"] == 1.0 and m["eval/collapse"] is False
