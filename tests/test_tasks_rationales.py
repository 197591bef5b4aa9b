"""Worked examples that show the reasoning: built from each item's metadata, reaching its gold answer."""

import pytest
import reasoning_gym

from selftaught.tasks.gym import ReasoningGymTask
from selftaught.tasks.prompts import PROMPT_VERSION, default_worked_example, worked_example_for

TASKS = ["letter_counting", "leg_counting", "gcd", "number_sorting", "chain_sum"]


@pytest.mark.parametrize("name", TASKS)
def test_every_item_gets_steps_that_the_task_scores_correct(name):
    task = ReasoningGymTask(name)
    worked = worked_example_for(name)
    dataset = reasoning_gym.create_dataset(name, seed=3, size=40)
    for entry in dataset:
        text = worked(entry["question"], str(entry["answer"]), entry["metadata"])
        assert text != default_worked_example(entry["question"], str(entry["answer"]), entry["metadata"])
        before = text.rsplit("Answer:", 1)[0]
        assert len(before.splitlines()) >= 1 and "Working it out" not in before
        assert dataset.score_answer(text.rsplit("Answer:", 1)[1].strip(), entry) == 1.0
    problem = task.problems("eval", 1, 0)[0]
    assert task.score(problem, worked(problem.meta["question"], problem.answer, problem.meta["metadata"])).correct


def test_the_old_bare_form_was_what_these_tasks_showed():
    """Before: every task but basic_arithmetic and chain_sum read `Working it out gives N.`"""
    for name in ("letter_counting", "leg_counting", "gcd", "number_sorting"):
        shots = ReasoningGymTask(name).examples()
        assert shots and not any(w.startswith("Working it out gives") for _, w in shots), name
    assert ReasoningGymTask("letter_counting").version.split(";")[1] == f"prompt={PROMPT_VERSION}" != "prompt=p1"


def test_steps_that_do_not_reach_the_gold_fall_back_to_the_generic_example():
    worked = worked_example_for("gcd")
    assert worked("q", "5", {"numbers": [12, 18]}) == default_worked_example("q", "5", {})
    assert worked_example_for("chain_sum")("q", "3", {"expression": "1 + 2"}) == "1 + 2 = 3\nAnswer: 3"
    assert worked_example_for("chain_sum")("q", "6", {"expression": "-3 - -9"}) == "-3 - -9 = 6\nAnswer: 6"


def test_shots_show_different_answers_where_the_bucket_allows():
    """letter_counting's first two shots both answered 3, and the starting model answered 3 to everything."""
    for name in ("letter_counting", "gcd", "basic_arithmetic"):
        answers = [w.rsplit("Answer:", 1)[1].strip() for _, w in ReasoningGymTask(name).examples()]
        assert len(set(answers)) == len(answers) == 2, name


def test_basic_arithmetic_examples_are_unchanged():
    task = ReasoningGymTask("basic_arithmetic", {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2,
                                                 "operators": ["+", "-"]})
    assert task.examples() == [("Calculate 0 - -5.", "0 - -5 = 5\nAnswer: 5"),
                               ("Calculate -7 + 4.", "-7 + 4 = -3\nAnswer: -3")]


def test_demos_bare_gives_the_p1_one_line_examples():
    from selftaught.core.config import load_config
    from selftaught.tasks import build_task

    bare = build_task(load_config(None, ["task.name=gcd", "task.demos=bare"]).task)
    assert all(w.startswith("Working it out gives") for _, w in bare.examples())
    steps = build_task(load_config(None, ["task.name=gcd"]).task)
    assert [q for q, _ in bare.examples()] == [q for q, _ in steps.examples()]
    arith = build_task(load_config(None, ["task.name=chain_sum", "task.demos=bare"]).task)
    assert [w.count("\n") for _, w in arith.examples()] == [1, 1]  # "expr = N\nAnswer: N"
