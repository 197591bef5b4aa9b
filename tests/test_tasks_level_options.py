"""task.level_options: levels of your own for a reasoning-gym dataset (digits, terms), beyond its curriculum's."""

import re

import pytest

from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.tasks.gym import ReasoningGymTask

DIGITS = {"min_digits": [1, 2, 3, 4, 5, 6, 7], "max_digits": [1, 2, 3, 4, 5, 6, 7]}
OPTS = {"min_terms": 2, "max_terms": 2, "operators": ["+"]}


def _numbers(question: str) -> list[str]:
    return re.findall(r"\d+", question)


def test_each_level_sets_the_options_of_its_index():
    task = ReasoningGymTask("basic_arithmetic", OPTS, level_options=DIGITS)
    assert task.levels == list(range(7))  # beyond basic_arithmetic's own curriculum
    for level in (0, 3, 6):  # numbers of up to level + 1 digits (reasoning-gym draws below 10^digits)
        problems = task.problems("eval", 8, seed=0, level=level)
        lengths = [len(n) for p in problems for n in _numbers(p.meta["question"])]
        assert max(lengths) == level + 1 and (level == 0 or sum(x == level + 1 for x in lengths) > len(lengths) / 2)
        assert all(task.score(p, f"Answer: {p.answer}").verdict == "correct" for p in problems)


def test_levels_are_recorded_in_the_version_and_a_missing_level_is_an_error():
    task = ReasoningGymTask("basic_arithmetic", OPTS, level_options=DIGITS)
    assert "levels=" in task.version and "levels=" not in ReasoningGymTask("basic_arithmetic", OPTS).version
    with pytest.raises(ConfigError, match="levels 0-6, not 7"):
        task.problems("eval", 4, seed=0, level=7)


@pytest.mark.parametrize("level_options, message", [
    ({"max_digit": [1, 2]}, r"task.level_options.max_digit: .*did you mean `max_digits`"),
    ({"min_digits": [1, 2], "max_digits": [1, 2, 3]}, "all the same length"),
    ({"max_digits": []}, "non-empty list"),
    ({"max_digits": 3}, "non-empty list"),
    ({"min_digits": [1, 5], "max_digits": [1, 2]}, "level 1"),  # reasoning-gym refuses min > max
])
def test_bad_level_options_are_config_errors_naming_the_key(level_options, message):
    with pytest.raises(ConfigError, match=message):
        ReasoningGymTask("basic_arithmetic", OPTS, level_options=level_options)


def test_the_config_key_reaches_the_task_and_mixture_sources():
    from selftaught.tasks import build_task

    cfg = load_config(None, ["task.name=basic_arithmetic", "task.options={min_terms: 2, max_terms: 2}",
                             "task.level_options={max_digits: [1, 2, 3], min_digits: [1, 2, 3]}"])
    assert build_task(cfg.task).levels == [0, 1, 2]
    cfg = load_config(None, ["task.mixture=[{name: basic_arithmetic, options: {min_terms: 2, max_terms: 2}, "
                             "level_options: {max_digits: [1, 2], min_digits: [1, 2]}}, {name: chain_sum}]"])
    mixture = build_task(cfg.task)
    assert [getattr(t, "levels", None) for t in (s.task for s in mixture.sources.values())][0] == [0, 1]
