"""Verdicts beyond the task's own: two different final answers (`conflicting`) and an answer cut off at the
token limit (`truncated`), scored through `score_sample`, and counted in the eval and rollout metrics."""

import pytest

from selftaught.core.errors import ConfigError
from selftaught.core.records import VERDICTS, Problem, Sample
from selftaught.metrics.evaluation import eval_metrics
from selftaught.metrics.rollout import round_metrics
from selftaught.tasks import ReasoningGymTask
from selftaught.tasks.extract import final_answers, has_conflict
from selftaught.tasks.verdicts import score_sample, truncation_warning

OPTIONS = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]}
# A completion seen in a real run: the model invents a further turn and a second answer, the gold one.
INVENTED = "-3 + 4 = -2\nAnswer: -2iatrics\n4-5 model\n4 - 5 = 6\nAnswer: 6"


@pytest.fixture(scope="module")
def task():
    return ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=0)


@pytest.fixture(scope="module")
def problem(task):
    p = task.problems("eval", 1, 0)[0]
    return Problem(p.id, p.prompt, "6", dict(p.meta, question="Calculate -3 - -9.",
                                               metadata={"expression": "-3 - -9"}))


def test_verdicts_list_the_new_ones():
    assert {"conflicting", "truncated"} <= set(VERDICTS)


def test_invented_continuation_is_not_correct(task, problem):
    sample = Sample(problem.id, INVENTED, 30)
    score = score_sample(task, problem, sample)
    assert score.verdict == "conflicting" and score.reward == 0.0 and not score.correct
    assert score.sample_id == sample.id


def test_first_answer_wins_and_last_answer_wins(task, problem):
    sample = Sample(problem.id, INVENTED, 30)
    assert score_sample(task, problem, sample, multiple_answers="first").verdict == "incorrect"
    assert score_sample(task, problem, sample, multiple_answers="last").verdict == "correct"
    with pytest.raises(ConfigError, match="multiple_answers"):
        score_sample(task, problem, sample, multiple_answers="vote")


def test_two_equal_answers_are_no_conflict(task, problem):
    text = "-3 + 9 = 6\nAnswer: 6\nCheck: 6 - 9 = -3.\nAnswer: **6**."
    assert not has_conflict(text)
    assert not has_conflict("Answer: -3 + 9 = 6\nAnswer: 6") and not has_conflict("Answer: 6 apples\nAnswer: 6")
    assert has_conflict("Answer: 16\nAnswer: 6") and has_conflict("Answer: 6 apples\nAnswer: 7 apples")
    assert score_sample(task, problem, Sample(problem.id, text, 30)).verdict == "correct"


@pytest.mark.parametrize("text, answers", [
    (INVENTED, ["-2iatrics", "6"]),
    ("so \\boxed{3} hmm\nAnswer: 4", ["3", "4"]),
    ("Answer: \\boxed{5}", ["5"]),
    ("no answer here", []),
    ("The answer is 7. Answer: 7", ["7"]),
])
def test_final_answers(text, answers):
    assert final_answers(text) == answers


def test_cut_at_the_limit_without_answer_is_truncated(task, problem):
    text = "First, -3 - -9 means -3 plus 9, which is"
    score = score_sample(task, problem, Sample(problem.id, text, 32, finish_reason="length"))
    assert score.verdict == "truncated" and not score.correct
    # the same text ended by the model itself is plainly unparsed
    assert score_sample(task, problem, Sample(problem.id, text, 20)).verdict == "unparsed"


def test_answer_line_cut_mid_way_is_truncated(task, problem):
    cut = Sample(problem.id, "-3 + 9 = 6\nAnswer: ['51.0', '", 32, finish_reason="length")
    assert score_sample(task, problem, cut).verdict == "truncated"
    done = Sample(problem.id, "-3 + 9 = 5\nAnswer: 5\nThat is", 32, finish_reason="length")
    assert score_sample(task, problem, done).verdict == "incorrect"  # a finished answer line, then cut
    right = Sample(problem.id, "-3 + 9 = 6\nAnswer: 6", 32, finish_reason="length")
    assert score_sample(task, problem, right).verdict == "correct"


def test_eval_metrics_count_truncated_and_conflicting(task, problem):
    samples = [Sample(problem.id, "Answer: 6", 3), Sample(problem.id, INVENTED, 30, index=1),
               Sample(problem.id, "It is", 32, finish_reason="length", index=2),
               Sample(problem.id, "Answer: 1", 3, index=3)]
    scores = [score_sample(task, problem, s) for s in samples]
    m = eval_metrics([problem], samples, scores)
    assert m["eval/truncated_rate"] == 0.25 and m["eval/conflict_rate"] == 0.25
    assert m["eval/cut_rate"] == 0.25 and m["eval/unparsed_rate"] == 0.0
    r = round_metrics([problem], samples, scores, ks=(1,))
    assert r["truncated_rate"] == 0.25 and r["conflict_rate"] == 0.25 and r["cut_rate"] == 0.25
    assert "raise eval.max_new_tokens" in m["eval/truncation_warning"]  # 25% > 10%: recorded in the metrics
    assert "raise sampling.max_new_tokens" in r["truncation_warning"]
    fine = eval_metrics([problem], samples[:2] + samples[3:], scores[:2] + scores[3:])
    assert fine["eval/truncated_rate"] == 0.0 and "eval/truncation_warning" not in fine


def test_truncation_warning_names_the_key():
    samples = [Sample("p", "x", 8, finish_reason="length", index=i) for i in range(2)] + \
              [Sample("p", "Answer: 1", 8, index=i) for i in range(2, 10)]
    from selftaught.core.records import Score
    scores = [Score(s.id, None, "truncated", 0.0) for s in samples[:2]] + \
             [Score(s.id, "1", "correct", 1.0) for s in samples[2:]]
    message = truncation_warning(scores, "eval.max_new_tokens", 32)
    assert message is not None and "20%" in message and "eval.max_new_tokens" in message and "32" in message
    ten = scores[1:] + [Score("x", "1", "correct", 1.0)]
    assert truncation_warning(ten, "eval.max_new_tokens", 32) is None  # 1 of 10: not over 10%
    assert truncation_warning([], "sampling.max_new_tokens", 32) is None


def test_max_new_tokens_defaults_to_the_task_need():
    from selftaught.tasks.verdicts import resolve_max_new_tokens
    short, long = ReasoningGymTask("basic_arithmetic"), ReasoningGymTask("number_sorting")
    assert short.max_new_tokens == 128 and long.max_new_tokens > 128
    assert resolve_max_new_tokens(None, long) == long.max_new_tokens
    assert resolve_max_new_tokens(32, long) == 32  # a recipe's explicit value is kept
    assert resolve_max_new_tokens(None, object()) == 128  # a task without a default


def test_config_keys():
    from selftaught.core.config import load_config
    cfg = load_config(None, ["task.name=basic_arithmetic", "task.multiple_answers=first"])
    assert cfg.task.multiple_answers == "first" and cfg.sampling.max_new_tokens is None
    with pytest.raises(ConfigError):
        load_config(None, ["task.name=basic_arithmetic", "task.multiple_answers=vote"])
