"""Curricula in the round loop on a tiny random Llama: the default recipe's problems unchanged, threshold
climbing a level, held-out accuracy per level, the bandit's state resumed after a crash, a mixture, the
report's curriculum plots."""

import json

import pytest
from rich.console import Console

from conftest import loop_config
from selftaught.core.config import load_config
from selftaught.loop import rounds as rounds_mod
from selftaught.loop.context import RoundContext
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from selftaught.tasks import build_task

LEVELLED = "task.callable=loop_task:make_levelled_task"


def without_arm(problems):
    return [(p.id, p.prompt, p.answer, {k: v for k, v in p.meta.items() if k != "arm"}) for p in problems]


@pytest.mark.parametrize("fresh", [True, False])
def test_default_recipe_problems_are_unchanged(tmp_path, fresh):
    cfg = load_config("recipes/default.yaml", [f"loop.fresh_problems={fresh}"])
    task = build_task(cfg.task)
    ctx = RoundContext(cfg, RunDir(tmp_path / "r"), Console(), task, state=None)
    assert without_arm(ctx.eval_problems) == without_arm(task.problems("eval", cfg.task.n_eval, cfg.seed))
    for index in (1, 2, 3):
        seed = cfg.seed + (index if fresh else 1)  # how the loop drew them before curricula
        drawn = ctx.train_problems(index)
        assert without_arm(drawn) == without_arm(task.problems("train", cfg.task.n_train, seed))
        assert {p.meta["arm"] for p in drawn} == {"basic_arithmetic"}


def test_threshold_climbs_and_eval_covers_every_level(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, LEVELLED, "curriculum.mode=threshold", "curriculum.eval_levels=[0,1,2]")
    rows = run_loop(cfg, str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert rows[1]["curriculum/level/levelled"] == 0 and rows[1]["rollout/arm/levelled@L0/accuracy"] == 1.0
    assert rows[2]["curriculum/level/levelled"] == 1 and "rollout/arm/levelled@L1/accuracy" in rows[2]
    assert json.loads(run.path(1, "curriculum.json").read_text())["current"] == {"levelled": 1}
    for m in rows:
        assert m["eval/arm/levelled@L0/accuracy"] == 1.0 and m["eval/arm/levelled@L2/n"] == 4
        assert m["eval/highest_level_50"] >= 0
        assert m["eval/n"] == 12
    levels = {json.loads(line)["problem_id"].split("-")[1] for line in
              (tmp_path / "run" / "rounds" / "002" / "samples.jsonl").read_text().splitlines()}
    assert levels == {"L1"}


def test_bandit_resumes_to_the_same_choices_and_metrics(tiny_path, tmp_path, monkeypatch):
    sets = (LEVELLED, "curriculum.mode=bandit", "curriculum.temperature=0.2", "task.n_train=8", "loop.rounds=3")
    whole = run_loop(loop_config(tiny_path, *sets), str(tmp_path / "a"))
    real_train = rounds_mod.ModelState.train

    def crash_in_round_2(self, index, records, base):
        if index == 2:
            raise KeyboardInterrupt("killed")
        return real_train(self, index, records, base)

    monkeypatch.setattr(rounds_mod.ModelState, "train", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        run_loop(loop_config(tiny_path, *sets), str(tmp_path / "b"))
    assert RunDir(tmp_path / "b").finished_rounds() == [0, 1]
    monkeypatch.setattr(rounds_mod.ModelState, "train", real_train)
    resumed = run_loop(loop_config(tiny_path, *sets), str(tmp_path / "b"))

    def key_metrics(rows):
        return [{k: v for k, v in m.items() if k.startswith(("curriculum/", "rollout/arm/", "eval/"))
                 or k in ("train/loss", "rollout/pass@1")} for m in rows]

    assert key_metrics(resumed) == key_metrics(whole)
    assert any(k.startswith("curriculum/q/") for k in whole[3])
    for index in (1, 2, 3):
        a, b = (json.loads((tmp_path / d / "rounds" / f"{index:03d}" / "curriculum.json").read_text()) for d in "ab")
        assert a == b
    q = json.loads((tmp_path / "a" / "rounds" / "001" / "curriculum.json").read_text())["q"]
    rewards = {k.removeprefix("curriculum/reward/"): v for k, v in whole[1].items() if k.startswith("curriculum/reward/")}
    assert rewards and all(q[k] == pytest.approx(0.5 * r) for k, r in rewards.items())  # TD from Q = 0, alpha 0.5


def test_mixture_of_two_sources_reports_each_arm(tiny_path, tmp_path):
    mixture = ("task.mixture=[{callable: 'loop_task:make_task', weight: 2}, "
               "{callable: 'loop_task:make_levelled_task', label: lv}]")
    cfg = loop_config(tiny_path, "task.callable=null", mixture, "loop.rounds=1", "curriculum.level=2")
    rows = run_loop(cfg, str(tmp_path / "run"))
    assert rows[1]["rollout/arm/even_length/n"] == 4 and rows[1]["rollout/arm/lv@L2/n"] == 2
    assert rows[1]["eval/arm/even_length/n"] == 4 and rows[1]["eval/arm/lv@L2/n"] == 4
    ids = [json.loads(line)["problem_id"] for line in
           (tmp_path / "run" / "rounds" / "001" / "samples.jsonl").read_text().splitlines()]
    assert {i.split(":")[0] for i in ids} == {"even_length", "lv"}
    from selftaught.report.load import load_run, task_label

    assert task_label(load_run(tmp_path / "run").config) == "mixture of loop_task:make_task, lv (weights 2:1)"


def test_report_draws_the_curriculum_plots(tiny_path, tmp_path):
    from selftaught.report.load import load_run
    from selftaught.report.plots import render

    cfg = loop_config(tiny_path, LEVELLED, "curriculum.mode=bandit", "curriculum.eval_levels=[0,2]", "loop.rounds=1")
    run_loop(cfg, str(tmp_path / "run"))
    drawn = {plot.id: out for plot, out in render(load_run(tmp_path / "run"))}
    for pid in ("levels", "arm_accuracy", "bandit"):
        assert isinstance(drawn[pid], bytes), (pid, drawn[pid])
