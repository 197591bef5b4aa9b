"""ReasoningGymTask: determinism, disjoint splits, scoring, and every user-error path."""

import json

import pytest

from selftaught.core.errors import ConfigError, SelftaughtError
from selftaught.core.protocols import Task
from selftaught.core.records import Problem, from_dict, to_dict
from selftaught.tasks import ReasoningGymTask, list_gym_tasks
from selftaught.tasks.gym import split_of

OPTIONS = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]}


@pytest.fixture(scope="module")
def task():
    return ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=2)


def test_is_a_task_with_version(task):
    assert isinstance(task, Task)
    assert task.name == "basic_arithmetic"
    assert "reasoning_gym=" in task.version and "prompt=" in task.version


def test_same_seed_same_problems(task):
    fresh = ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=2)
    a, b = task.problems("train", 20, seed=3), fresh.problems("train", 20, seed=3)
    assert [to_dict(p) for p in a] == [to_dict(p) for p in b]
    assert [p.id for p in a] == [f"basic_arithmetic-train-3-{p.meta['index']}" for p in a]


def test_different_seeds_differ(task):
    a = {p.meta["question"] for p in task.problems("train", 20, seed=1)}
    b = {p.meta["question"] for p in task.problems("train", 20, seed=2)}
    assert a != b


def test_eval_depends_only_on_seed_and_n(task):
    assert [p.id for p in task.problems("eval", 10, 0)] == [p.id for p in task.problems("eval", 10, 0)]
    assert [p.id for p in task.problems("eval", 10, 0)] == [p.id for p in task.problems("eval", 30, 0)][:10]


def test_splits_and_shots_never_overlap(task):
    eval_q = {p.meta["question"] for seed in (0, 1) for p in task.problems("eval", 60, seed)}
    train_q = {p.meta["question"] for seed in range(4) for p in task.problems("train", 60, seed)}
    shot_q = {q for q, _ in task.examples()}
    assert len(shot_q) == 2
    assert not eval_q & train_q and not shot_q & (eval_q | train_q)
    assert all(split_of(q) == "eval" for q in eval_q) and all(split_of(q) == "train" for q in train_q)


def test_problems_are_distinct_within_a_call(task):
    qs = [p.meta["question"] for p in task.problems("eval", 50, 0)]
    assert len(set(qs)) == len(qs)


def test_prompt_holds_shots_then_question(task):
    p = task.problems("eval", 1, 0)[0]
    roles = [m["role"] for m in p.prompt]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert p.prompt[-1]["content"] == p.meta["question"]
    assert p.prompt[2]["content"].endswith(f"\nAnswer: {p.prompt[2]['content'].split()[-1]}")
    assert " = " in p.prompt[2]["content"]  # arithmetic worked example uses the expression


def test_no_few_shot():
    t = ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=0, system_prompt="Be brief.")
    p = t.problems("eval", 1, 0)[0]
    assert p.prompt == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": p.meta["question"]}]


def test_meta_is_json_and_scoring_survives_a_round_trip(task):
    p = task.problems("eval", 1, 0)[0]
    back = from_dict(Problem, json.loads(json.dumps(to_dict(p))))
    assert back.meta["task"] == "basic_arithmetic" and "expression" in back.meta["metadata"]
    assert task.score(back, f"Answer: {p.answer}").verdict == "correct"
    other = ReasoningGymTask("basic_arithmetic", OPTIONS)  # e.g. after a resume
    assert other.score(back, f"Answer: {p.answer}").verdict == "correct"


def test_scoring_verdicts(task):
    p = task.problems("eval", 1, 0)[0]
    good = task.score(p, f"Some work.\nAnswer: {p.answer}")  # the Task contract: score(problem, completion)
    assert (good.verdict, good.reward, good.extracted, good.sample_id) == ("correct", 1.0, p.answer, p.id)
    bad = task.score(p, f"Answer: {int(p.answer) + 1}")
    assert bad.verdict == "incorrect" and bad.reward < 1.0
    none = task.score(p, "I cannot tell.")
    assert (none.verdict, none.extracted, none.reward) == ("unparsed", None, 0.0)
    assert task.score(p, f"\\boxed{{{p.answer}}}").verdict == "correct"


def test_level_uses_curriculum():
    t = ReasoningGymTask("basic_arithmetic", {}, few_shot=1)
    easy = t.problems("eval", 5, 0, level=0)
    assert all(p.meta["metadata"]["num_terms"] == 2 and p.meta["level"] == 0 for p in easy)
    assert easy[0].id.startswith("basic_arithmetic-L0-eval-0-")


def test_unknown_name_suggests_and_hints():
    with pytest.raises(ConfigError) as e:
        ReasoningGymTask("basic_arithmatic", {})
    assert "basic_arithmetic" in str(e.value) and "selftaught tasks" in str(e.value)


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ConfigError) as e:
        ReasoningGymTask("basic_arithmetic", {"max_term": 3})
    msg = str(e.value)
    assert "max_term" in msg and "max_terms" in msg and "min_digits" in msg and "operators" in msg


def test_reserved_option_rejected():
    with pytest.raises(ConfigError, match="seed"):
        ReasoningGymTask("basic_arithmetic", {"seed": 3})


def test_invalid_option_value():
    with pytest.raises(ConfigError) as e:
        ReasoningGymTask("basic_arithmetic", {"min_terms": 3, "max_terms": 2})
    assert "max_terms must be >= min_terms" in str(e.value)
    with pytest.raises(ConfigError, match="unsupported operator"):
        ReasoningGymTask("basic_arithmetic", {"operators": ["^"]})


def test_too_small_question_space_is_an_error():
    t = ReasoningGymTask("basic_arithmetic", {"min_terms": 1, "max_terms": 1, "max_digits": 1}, few_shot=0)
    with pytest.raises(ConfigError, match="too small"):
        t.problems("eval", 50, 0)


def test_bad_split_and_level_errors(task):
    with pytest.raises(SelftaughtError, match="split"):
        task.problems("test", 1, 0)
    with pytest.raises(ConfigError, match="level"):
        task.problems("eval", 1, 0, level=-1)


def test_list_gym_tasks():
    names = list_gym_tasks()
    assert names == sorted(names) and "basic_arithmetic" in names and len(names) > 50


def test_level_without_curriculum_is_an_error():
    t = ReasoningGymTask("list_functions", {}, few_shot=0)
    with pytest.raises(ConfigError, match="no reasoning-gym curriculum"):
        t.problems("eval", 1, 0, level=1)


def test_multiline_gold_reads_an_answer_block():
    t = ReasoningGymTask("rotate_matrix", {}, few_shot=1)
    p = t.problems("eval", 1, 0)[0]
    assert "\n" in p.answer and t.examples()[0][1].startswith("Working it out gives this.\nAnswer:\n")
    assert t.score(p, f"Rotated:\nAnswer:\n{p.answer}\n\nDone.").verdict == "correct"


def test_sentence_answer_keeps_its_period_when_that_scores_higher():
    t = ReasoningGymTask("sentence_reordering", {}, few_shot=0)
    p = next(q for q in t.problems("eval", 5, 0) if q.answer.endswith("."))
    s = t.score(p, f"Answer: {p.answer}")
    assert s.verdict == "correct" and s.extracted == p.answer


def test_dataset_without_gold_answers_gets_no_shots_but_scores():
    t = ReasoningGymTask("graph_color", {}, few_shot=2)
    p = t.problems("eval", 1, 0)[0]
    assert p.answer is None and t.examples() == [] and len(p.prompt) == 2
    assert t.score(p, "Answer: {}").verdict == "incorrect"



def test_plain_number_only_touches_numeric_gold_answers():
    from selftaught.tasks.gym import plain_number

    assert plain_number("34 legs", "12") == "34" and plain_number("\\boxed{1,000}", "3") == "1000"
    assert plain_number("34.0", "12") == "34" and plain_number("34.0", "1.5") == "34.0"  # integer gold only
    assert plain_number("34 legs", "cat") is None and plain_number("three", "3") is None
    assert plain_number("50%", "50") is None  # a percent is not rewritten as its number


def test_answer_match_is_kept_for_votes_and_checked():
    assert ReasoningGymTask("basic_arithmetic", OPTIONS, answer_match="exact").answer_match == "exact"
    with pytest.raises(ConfigError, match="answer_match"):
        ReasoningGymTask("basic_arithmetic", OPTIONS, answer_match="fuzzy")
