"""The reversed-addition task: levels are digits per operand, answers reversed and padded, exact scoring with a
length/format filter, disjoint and reproducible splits."""

import pytest

from selftaught.core.errors import ConfigError
from selftaught.core.protocols import Task
from selftaught.tasks.callable_task import load_callable_task
from selftaught.tasks.reversed_addition import ReversedAdditionTask, _split_of, reversed_sum


def operands(problem):
    a, b = problem.prompt.rstrip("=").split("+")
    return int(a[::-1]), int(b[::-1])


@pytest.mark.parametrize("level", [1, 3, 12])
def test_a_level_is_digits_per_operand_and_the_answer_is_the_reversed_padded_sum(level):
    for p in ReversedAdditionTask().problems("train", 20, seed=4, level=level):
        a, b = operands(p)
        assert len(str(a)) == len(str(b)) == level and p.meta["level"] == level
        assert p.answer == str(a + b)[::-1].ljust(level + 1, "0") and len(p.answer) == level + 1


def test_reversed_sum_examples():
    assert reversed_sum(123, 456, 3) == "9750"  # 579 least significant digit first, padded to 4
    assert reversed_sum(999, 999, 3) == "8991"


def test_splits_never_share_an_operand_pair_and_repeat_exactly():
    task = ReversedAdditionTask()
    for level in (1, 2, 4):
        train = {operands(p) for p in task.problems("train", 300, 0, level=level)}
        held = {operands(p) for p in task.problems("eval", 300, 0, level=level)}
        assert train and held and not train & held
        assert all(_split_of(a, b) == "eval" for a, b in held)
    first = task.problems("eval", 10, 7, level=5)
    assert [p.prompt for p in first] == [p.prompt for p in task.problems("eval", 10, 7, level=5)]
    assert [p.prompt for p in first] != [p.prompt for p in task.problems("eval", 10, 8, level=5)]
    assert len({p.id for p in task.problems("train", 50, 0, level=1)}) == 50


def test_no_level_mixes_the_default_levels():
    levels = {p.meta["level"] for p in ReversedAdditionTask(default_levels=(2, 4)).problems("train", 60, 0)}
    assert levels == {2, 3, 4}


def test_scoring_is_exact_and_a_wrong_length_or_format_is_unparsed():
    task = ReversedAdditionTask()
    p = task.problems("eval", 1, 0, level=3)[0]
    assert task.score(p, p.answer + "\n").verdict == "correct"
    wrong = str((int(p.answer[0]) + 1) % 10) + p.answer[1:]
    assert task.score(p, wrong).verdict == "incorrect"
    for bad in (p.answer[:-1], p.answer + "0", "", "12a4", p.answer[:2] + " " + p.answer[2:]):
        score = task.score(p, bad)
        assert score.verdict == "unparsed" and score.reward == 0.0, bad
    assert task.label_ok(p, p.answer) and not task.label_ok(p, None)


def test_bad_levels_and_splits_are_config_errors():
    task = ReversedAdditionTask()
    with pytest.raises(ConfigError, match="level"):
        task.problems("train", 1, 0, level=0)
    with pytest.raises(ConfigError, match="split"):
        task.problems("test", 1, 0, level=1)


def test_it_loads_as_a_callable_task():
    task = load_callable_task("selftaught.tasks.reversed_addition:task")
    assert isinstance(task, Task) and task.name == "reversed_addition"
