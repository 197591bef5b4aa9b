"""Mode `self_label`: plans the frontier (and replay below it), measures its self-labels against gold only for
the metric, moves up when the votes are clear, restores its state exactly; its config errors name the key."""

import json

import pytest

from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.core.records import Sample
from selftaught.curriculum import CURRICULA, Arm
from selftaught.select import make_majority
from selftaught.tasks.reversed_addition import ReversedAdditionTask

TASK = "task.callable=selftaught.tasks.reversed_addition:task"
SOURCE = "reversed_addition"


def make(*overrides, max_level=10):
    cfg = load_config(None, [TASK, "curriculum.mode=self_label", "select.rule=majority",
                             f"curriculum.max_level={max_level}", *overrides])
    arms = [Arm(SOURCE, level) for level in range(1, max_level + 1)]
    return CURRICULA.get("self_label")(cfg.curriculum, arms, cfg.seed)


def round_at(task, level, texts_for, n_problems=4):
    """Problems at `level` with the completions `texts_for(problem)` returns, scored by the task."""
    problems = task.problems("train", n_problems, 0, level=level)
    for p in problems:
        p.meta["arm"] = Arm(SOURCE, level).key
    samples, scores = [], []
    for p in problems:
        for i, text in enumerate(texts_for(p)):
            s = Sample(p.id, text, len(text), index=i)
            sc = task.score(p, text)
            sc.sample_id = s.id
            samples.append(s)
            scores.append(sc)
    return problems, samples, scores


def wrong(answer):
    return str((int(answer[0]) + 1) % 10) + answer[1:]


def test_plan_puts_the_replay_share_below_the_frontier():
    cur = make("curriculum.start_level=5", "curriculum.replay=0.25")
    plan = cur.plan(1, 100)
    assert sum(plan.values()) == 100 and plan[Arm(SOURCE, 5)] == 75
    assert {a.level for a in plan} == {1, 2, 3, 4, 5}
    first = make("curriculum.start_level=1").plan(1, 10)
    assert first == {Arm(SOURCE, 1): 10}  # nothing below level 1 to replay


def test_clear_votes_move_the_frontier_and_wrong_labels_lower_label_accuracy():
    task, cur = ReversedAdditionTask(), make("curriculum.start_level=3", "curriculum.advance_share=0.6",
                                             "curriculum.advance_at=0.5")
    # 4 of 5 samples agree on a well-formed but wrong answer for every problem: reliable, label accuracy 0
    metrics = cur.update(1, *round_at(task, 3, lambda p: [wrong(p.answer)] * 4 + [p.answer]))
    assert metrics["curriculum/reliable"] == 1.0 and metrics["curriculum/label_accuracy"] == 0.0
    assert metrics["curriculum/advanced"] and cur.frontier == 4
    # malformed answers (wrong length) never vote: no clear label, the frontier stays
    metrics = cur.update(2, *round_at(task, 4, lambda p: [p.answer[:-1]] * 4 + [p.answer]))
    assert metrics["curriculum/reliable"] == 0.0 and metrics["curriculum/label_accuracy"] == 1.0
    assert not metrics["curriculum/advanced"] and cur.frontier == 4
    assert [a.level for a in cur.eval_arms()] == [1, 2, 3, 4, 5, 6]


def test_the_majority_rule_keeps_only_well_formed_clear_labels():
    """What the loop trains on: `select.rule majority` with min_share over the task's scores."""
    task = ReversedAdditionTask()
    problems, samples, scores = round_at(task, 2, lambda p: [p.answer[:-1]] * 3 + [p.answer] * 2, n_problems=1)
    assert make_majority(min_share=0.6)(problems, samples, scores) == []  # 2/5 well-formed: below the share
    problems, samples, scores = round_at(task, 2, lambda p: [p.answer] * 3 + [wrong(p.answer)] * 2, n_problems=1)
    kept = make_majority(min_share=0.6)(problems, samples, scores)
    assert {k.label for k in kept} == {problems[0].answer} and kept[0].meta["label_correct"] is True


def test_frontier_stops_at_max_level():
    task, cur = ReversedAdditionTask(), make("curriculum.start_level=2", max_level=2)
    assert not cur.update(1, *round_at(task, 2, lambda p: [p.answer] * 5))["curriculum/advanced"]
    assert cur.frontier == 2


def test_state_round_trip_makes_the_same_choices():
    task, cur = ReversedAdditionTask(), make("curriculum.start_level=6", "curriculum.replay=0.3")
    cur.plan(1, 37)
    cur.update(1, *round_at(task, 6, lambda p: [p.answer] * 5))
    state = json.loads(json.dumps(cur.state_dict()))  # as curriculum.json holds it
    again = make("curriculum.start_level=6", "curriculum.replay=0.3")
    again.load_state_dict(state)
    assert again.frontier == cur.frontier == 7 and again.history == cur.history
    assert [again.plan(i, 37) for i in (2, 3)] == [cur.plan(i, 37) for i in (2, 3)]
    with pytest.raises(ConfigError, match="another curriculum.mode"):
        again.load_state_dict({**state, "mode": "bandit"})


def test_arms_without_levels_are_refused():
    cfg = load_config(None, [TASK, "curriculum.mode=self_label", "select.rule=majority"])
    with pytest.raises(ConfigError, match="levels of one task source"):
        CURRICULA.get("self_label")(cfg.curriculum, [Arm("gsm8k")], 0)


@pytest.mark.parametrize("overrides,key", [
    (["curriculum.mode=self_label"], "select.rule must be `majority`"),
    (["curriculum.mode=self_lable", "select.rule=majority"], "curriculum.mode"),
    (["curriculum.mode=self_label", "select.rule=majority", "curriculum.start_level=9", "curriculum.max_level=3"],
     "start_level 9 is above max_level 3"),
    (["curriculum.advance_at=0"], "curriculum.advance_at"),
    (["curriculum.replay=1.0"], "curriculum.replay"),
    (["curriculum.eval_levels=[-1, 3]"], "curriculum.eval_levels"),
    (["scratch.hidden_size=100", "scratch.heads=3"], "not divisible by heads"),
    (["scratch.min_level=5", "scratch.max_level=2"], "min_level 5 is above max_level 2"),
    (["scratch.positions=alibi"], "scratch.positions"),
])
def test_bad_config_names_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
        load_config(None, [TASK, *overrides])
