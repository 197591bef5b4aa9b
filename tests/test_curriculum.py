"""Curriculum modes without a model: fixed, threshold (levels up and down), bandit (SEC), the arms a task
offers, and the recipe errors (a level that does not exist, a weight <= 0, a source without levels, an
unknown mode), all raised before a model loads."""

import pytest

from loop_task import LevelledTask
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.curriculum import Arm
from selftaught.curriculum.bandit import BanditCurriculum, boltzmann, mean_abs_advantage
from selftaught.curriculum.sources import build_curriculum, draw, eval_arms
from selftaught.tasks import build_task

LEVELLED = "task.callable=loop_task:make_levelled_task"


def cfg(*sets):
    return load_config(None, list(sets))


def outcomes(arm_rewards: dict[str, list[list[float]]]):
    """(problems, samples, scores) with the given rewards per arm key: one list of sample rewards a problem."""
    problems, samples, scores = [], [], []
    for key, groups in arm_rewards.items():
        for i, rewards in enumerate(groups):
            pid = f"{key}-{i}"
            problems.append(Problem(pid, "q", "a", {"arm": key}))
            for j, r in enumerate(rewards):
                samples.append(Sample(pid, "x", 1))
                scores.append(Score(f"{pid}#{j}", "x", "correct" if r else "incorrect", float(r)))
    return problems, samples, scores


def test_default_is_fixed_one_arm_without_level():
    c = cfg("task.name=basic_arithmetic")
    task = build_task(c.task)
    cur = build_curriculum(c, task)
    assert cur.mode == "fixed" and cur.arms == [Arm("basic_arithmetic", None)]
    assert cur.plan(1, 7) == {Arm("basic_arithmetic", None): 7}
    assert eval_arms(c, task, cur) == [Arm("basic_arithmetic", None)]


def test_fixed_level_draws_at_that_level():
    c = cfg("task.name=basic_arithmetic", "curriculum.level=2")
    task = build_task(c.task)
    (arm,) = build_curriculum(c, task).arms
    problems = draw(task, arm, "train", 3, 5)
    assert arm.key == "basic_arithmetic@L2"
    assert [p.meta["arm"] for p in problems] == ["basic_arithmetic@L2"] * 3 and problems[0].meta["level"] == 2


def test_threshold_moves_up_above_success_down_below_failure_within_bounds():
    c = cfg(LEVELLED, "curriculum.mode=threshold", "curriculum.window=2")
    cur = build_curriculum(c, build_task(c.task))
    assert cur.plan(1, 4) == {Arm("levelled", 0): 4}
    m = cur.update(1, *outcomes({"levelled@L0": [[1, 1], [1, 1]]}))
    assert m == {"level/levelled": 0}  # one round seen, the window is two
    m = cur.update(2, *outcomes({"levelled@L0": [[1, 1], [1, 0]]}))  # 7 of 8 correct > 0.7
    assert m["accuracy/levelled"] == 0.875 and cur.plan(3, 2) == {Arm("levelled", 1): 2}
    cur.update(3, *outcomes({"levelled@L1": [[0, 0]]}))
    cur.update(4, *outcomes({"levelled@L1": [[0, 0]]}))  # 0 < 0.1: back down
    assert cur.current == {"levelled": 0}
    state = cur.state_dict()
    other = build_curriculum(c, build_task(c.task))
    other.load_state_dict(state)
    assert other.plan(5, 3) == cur.plan(5, 3) and other.state_dict() == state


def test_threshold_stays_at_the_top_level():
    c = cfg(LEVELLED, "curriculum.mode=threshold", "curriculum.level=2")
    cur = build_curriculum(c, build_task(c.task))
    cur.update(1, *outcomes({"levelled@L2": [[1, 1]]}))
    assert cur.current == {"levelled": 2}


def test_mean_abs_advantage_is_the_learning_signal():
    assert mean_abs_advantage([[1, 1, 1], [0, 0, 0]]) == 0.0  # always or never solved: nothing to learn
    p = 0.25
    assert mean_abs_advantage([[1, 0, 0, 0]]) == pytest.approx(2 * p * (1 - p))
    assert boltzmann([0.0, 0.0], 0.5) == [0.5, 0.5]
    assert boltzmann([1.0, 0.0], 0.5)[0] == pytest.approx(1 / (1 + 2.718281828 ** -2), rel=1e-6)


def test_bandit_td_update_and_boltzmann_draws():
    c = cfg(LEVELLED, "curriculum.mode=bandit", "curriculum.alpha=0.5", "curriculum.temperature=0.1")
    cur = build_curriculum(c, build_task(c.task))
    assert isinstance(cur, BanditCurriculum) and [a.key for a in cur.arms] == ["levelled@L0", "levelled@L1", "levelled@L2"]
    plan = cur.plan(1, 30)
    assert sum(plan.values()) == 30 and plan == cur.plan(1, 30)  # seeded by (run seed, round)
    m = cur.update(1, *outcomes({"levelled@L0": [[1, 1]], "levelled@L1": [[1, 0], [1, 0]]}))
    assert m["reward/levelled@L0"] == 0.0 and m["reward/levelled@L1"] == 0.5
    assert m["q/levelled@L1"] == 0.25 and m["q/levelled@L2"] == 0.0 and m["chosen/levelled@L1"] == 2
    cur.update(2, *outcomes({"levelled@L1": [[1, 0]]}))
    assert cur.q["levelled@L1"] == pytest.approx(0.5 * 0.25 + 0.5 * 0.5)
    plan = cur.plan(3, 40)  # Q 0.375 vs 0 at temperature 0.1: about 95% of the draws
    assert plan[Arm("levelled", 1)] >= 30
    other = build_curriculum(c, build_task(c.task))
    other.load_state_dict(cur.state_dict())
    assert other.plan(3, 40) == plan


def test_eval_levels_cover_every_levelled_source():
    c = cfg(LEVELLED, "curriculum.eval_levels=[0,2]")
    task = build_task(c.task)
    assert [a.key for a in eval_arms(c, task, build_curriculum(c, task))] == ["levelled@L0", "levelled@L2"]


@pytest.mark.parametrize("sets, match", [
    (["task.name=basic_arithmetic", "curriculum.level=9"], r"curriculum.level: source `basic_arithmetic` has no level 9"),
    (["task.name=basic_arithmetic", "curriculum.eval_levels=[0,5]"], r"curriculum.eval_levels: .* no level 5"),
    (["task.name=basic_arithmetic", "curriculum.levels=[0,7]"], r"curriculum.levels: .* no level 7"),
    (["task.callable=loop_task:make_task", "curriculum.mode=threshold"], r"curriculum.mode threshold: source `even_length` has no levels"),
    (["task.name=acre", "curriculum.mode=threshold"], r"source `acre` has no levels"),
    (["task.callable=loop_task:make_task", "curriculum.mode=bandit"], r"curriculum.mode bandit: .* one arm"),
    (["task.callable=loop_task:make_task", "curriculum.level=1"], r"curriculum.level: no source of this task has levels"),
])
def test_levels_that_do_not_exist_are_config_errors(sets, match):
    c = cfg(*sets)
    with pytest.raises(ConfigError, match=match):
        build_curriculum(c, build_task(c.task))


def test_unknown_mode_names_the_nearest():
    with pytest.raises(ConfigError, match=r"curriculum.mode.*unknown curriculum mode `treshold` \(did you mean `threshold`\?\)"):
        cfg("task.name=basic_arithmetic", "curriculum.mode=treshold")


def test_bad_numbers_are_config_errors():
    with pytest.raises(ConfigError, match="curriculum.failure"):
        cfg("task.name=basic_arithmetic", "curriculum.failure=0.8")
    with pytest.raises(ConfigError, match="curriculum.window"):
        cfg("task.name=basic_arithmetic", "curriculum.window=0")


def test_curriculum_levels_without_levels_in_the_source():
    c = cfg("task.callable=loop_task:make_task", "curriculum.levels=[0]")
    with pytest.raises(ConfigError, match="curriculum.levels: source `even_length` has no levels"):
        build_curriculum(c, build_task(c.task))


def test_levelled_test_task_levels():
    assert LevelledTask().problems("train", 1, 0, level=2)[0].meta["level"] == 2
