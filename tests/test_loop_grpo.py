"""The round loop with train.method grpo on a tiny random Llama: train_problems.jsonl, GRPO's own
metrics and zero-variance counts per round, held-out eval per round, label-free rewards."""

import json

import pytest

from conftest import loop_config
from selftaught.core.errors import ConfigError
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir


def config(tiny_path, *extra):
    return loop_config(tiny_path, "task.n_train=4", "sampling.n=2", "sampling.max_new_tokens=5", "eval.max_new_tokens=5", "train.method=grpo", *extra)


def test_grpo_rounds_train_on_the_problems_and_report_per_round(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "train.grpo.format_reward=0.5"), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert [r["round"] for r in rows] == [0, 1, 2] and all("eval/accuracy" in r for r in rows)
    for index in (1, 2):
        problems = run.read_records(index, "train_problems.jsonl")
        assert len(problems) == 4 and {"id", "prompt", "answer", "meta"} <= set(problems[0])
        assert len(run.read_records(index, "samples.jsonl")) == 8  # the loop's sampling step: rollout/*
        m = json.loads(run.path(index, "metrics.json").read_text())
        assert m["train/groups"] == 4 and 0 <= m["train/zero_variance_groups"] <= 4
        assert m["train/reward"] is not None and "rollout/pass@1" in m and m["select/problems"] == 4
    assert run.checkpoint(2).exists() and not run.has(1, "selected.jsonl")


def test_majority_reward_records_label_accuracy(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "train.grpo.reward=majority", "loop.rounds=1"), str(tmp_path / "r"))
    saved = json.loads((tmp_path / "r" / "rounds" / "001" / "metrics.json").read_text())
    assert saved["select/label_accuracy"] == rows[1]["select/label_accuracy"]
    assert 0.0 <= saved["select/label_accuracy"] <= 1.0  # pseudo-labels of the sampling step vs the truth
    assert 0.0 <= saved["train/label_accuracy"] <= 1.0  # ... and of GRPO's own groups


def test_self_certainty_reward_runs_without_labels(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "train.grpo.reward=self_certainty", "loop.rounds=1"), str(tmp_path / "r"))
    assert rows[1]["train/reward"] > 0 and rows[1]["train/steps"] > 0


@pytest.mark.parametrize("extra, match", [(["loop.kind=bstar"], "bstar"), (["sampling.n=1"], "sampling.n"),
                                          (["select.rationalize=true"], "rationalize")])
def test_grpo_refuses_combinations_that_cannot_work(tiny_path, tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        run_loop(config(tiny_path, *extra), str(tmp_path / "r"))
