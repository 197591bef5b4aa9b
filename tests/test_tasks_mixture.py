"""Task mixtures (task.mixture) and levels of sources: reasoning-gym curriculum levels, a JSONL level field;
each mixture problem scored by its own source; bad mixtures refused when the config loads."""

import json

import pytest

from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError, DataError
from selftaught.curriculum import Arm
from selftaught.curriculum.sources import build_curriculum, draw
from selftaught.tasks import build_task
from selftaught.tasks.gym import ReasoningGymTask
from selftaught.tasks.jsonl import JsonlTask
from selftaught.tasks.mixture import MixtureTask, split_by_weight


def write_levels(path, field="level", n=60):
    rows = [{"question": f"What is {i} + {i}?", "answer": str(2 * i), field: i % 3} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def mixture_config(tmp_path, *sets):
    data = write_levels(tmp_path / "sums.jsonl")
    return load_config(None, [f'task.mixture=[{{name: basic_arithmetic, weight: 3}}, {{path: "{data}", weight: 1}}]',
                              *sets])


def test_split_by_weight_sums_to_n():
    for n in range(0, 20):
        counts = split_by_weight(n, [0.5, 2.0, 1.0])
        assert sum(counts) == n and all(c >= 0 for c in counts)


def test_reasoning_gym_levels_come_from_its_curriculum():
    assert ReasoningGymTask("basic_arithmetic").levels == [0, 1, 2, 3, 4]
    assert ReasoningGymTask("acre").levels is None  # no curriculum in reasoning-gym


def test_jsonl_level_field_draws_one_level(tmp_path):
    task = JsonlTask(write_levels(tmp_path / "d.jsonl"))
    assert task.levels == [0, 1, 2]
    problems = task.problems("train", 5, 0, level=1)
    assert problems and {p.meta["level"] for p in problems} == {1}
    assert all(int(p.prompt[-1]["content"].split()[2]) % 3 == 1 for p in problems)
    with pytest.raises(ConfigError, match="no question at level 7"):
        task.problems("train", 5, 0, level=7)
    assert JsonlTask(write_levels(tmp_path / "e.jsonl", field="difficulty")).levels == [0, 1, 2]
    assert JsonlTask(write_levels(tmp_path / "f.jsonl", field="hardness")).levels is None
    assert JsonlTask(tmp_path / "f.jsonl", level_field="hardness").levels == [0, 1, 2]


def test_jsonl_level_field_must_hold_integers(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "a", "answer": "1", "tier": "hard"}\n')
    with pytest.raises(DataError, match="line 1: task.level_field `tier` must hold an integer"):
        JsonlTask(path, level_field="tier")


def test_jsonl_without_levels_refuses_a_level(tmp_path):
    task = JsonlTask(write_levels(tmp_path / "d.jsonl", field="hardness"))
    with pytest.raises(ConfigError, match="no level field"):
        task.problems("train", 2, 0, level=0)


def test_mixture_draws_by_weight_and_scores_each_problem_by_its_source(tmp_path):
    cfg = mixture_config(tmp_path)
    task = build_task(cfg.task)
    assert isinstance(task, MixtureTask) and list(task.sources) == ["basic_arithmetic", "sums"]
    problems = task.problems("train", 8, 0)
    by_source = [p.meta["mixture_source"] for p in problems]
    assert by_source == ["basic_arithmetic"] * 6 + ["sums"] * 2
    assert task.problems("train", 8, 0) == problems  # deterministic
    assert len({p.id for p in problems}) == 8 and problems[-1].id.startswith("sums:")
    for p in problems:
        assert task.score(p, f"Answer: {p.answer}").verdict == "correct"
        assert task.score(p, "Answer: -12345").verdict == "incorrect"


def test_mixture_arms_and_levels_per_source(tmp_path):
    data = write_levels(tmp_path / "sums.jsonl")
    cfg = load_config(None, [f'task.mixture=[{{name: chain_sum, levels: [0, 1]}}, {{path: "{data}", label: s}}]',
                             "curriculum.mode=bandit"])
    task = build_task(cfg.task)
    cur = build_curriculum(cfg, task)
    assert [a.key for a in cur.arms] == ["chain_sum@L0", "chain_sum@L1", "s@L0", "s@L1", "s@L2"]
    problems = draw(task, Arm("s", 2), "eval", 3, 1)
    assert {p.meta["arm"] for p in problems} == {"s@L2"} and {p.meta["level"] for p in problems} == {2}


def test_mixture_weight_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match=r"task.mixture.1.weight.*greater than 0"):
        mixture_config(tmp_path, "task.mixture.1.weight=0")


def test_mixture_source_sets_one_kind():
    with pytest.raises(ConfigError, match=r"task.mixture.0.*exactly one of name, path, callable"):
        load_config(None, ["task.mixture=[{name: gcd, path: x.jsonl}]"])
    with pytest.raises(ConfigError, match="exactly one of task.name, task.path, task.callable, task.mixture"):
        load_config(None, ["task.name=gcd", "task.mixture=[{name: lcm}]"])


def test_mixture_errors_name_the_source(tmp_path):
    cfg = load_config(None, ["task.mixture=[{name: gcd}, {name: gcdd}]"])
    with pytest.raises(ConfigError, match=r"task.mixture.1: task.name: `gcdd` is not a reasoning-gym dataset"):
        build_task(cfg.task)
    cfg = load_config(None, ["task.mixture=[{name: gcd}, {name: gcd, options: {min_value: 2}}]"])
    with pytest.raises(ConfigError, match="two sources are named `gcd`; give each a distinct `label`"):
        build_task(cfg.task)
    cfg = load_config(None, ["task.mixture=[{name: gcd}, {callable: 'loop_task:make_task', levels: [1]}]"])
    with pytest.raises(ConfigError, match=r"task.mixture.1.levels: source `even_length` has no levels"):
        build_curriculum(cfg, build_task(cfg.task))
    cfg = load_config(None, ["task.mixture=[{name: gcd, levels: [0, 9]}, {name: lcm}]"])
    with pytest.raises(ConfigError, match=r"task.mixture.0.levels: source `gcd` has no level 9"):
        build_curriculum(cfg, build_task(cfg.task))
