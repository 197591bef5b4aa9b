"""The synthesis stage in the round loop on a tiny random Llama: failure memory across rounds, budgets in
proportion to each arm's failure rate, the band filter, training on the kept problems, resume after a
kill -9 during synthesis, and bad input refused before a model loads."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import loop_config

from selftaught.core.errors import ConfigError
from selftaught.core.records import Sample, Score, from_dict
from selftaught.curriculum.failures import accuracies
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir

TESTS = Path(__file__).resolve().parent
SYNTH = ("task.callable=synth_task:make_task", "task.n_train=8", "loop.fresh_problems=false", "sampling.n=4",
         "synthesis.enabled=true", "synthesis.n_problems=8", "synthesis.candidates=2")


def config(tiny_path, *extra):
    return loop_config(tiny_path, *SYNTH, *extra)


def test_memory_budget_band_and_training(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    memory = {r["id"]: r for r in run.read_records(2, "failures.jsonl")}
    assert (tmp_path / "run" / "failures.jsonl").read_text() == run.path(2, "failures.jsonl").read_text()
    never = [r for r in memory.values() if r["meta"]["mod"] == 1000]
    assert len(never) == 4 and all([h["round"] for h in r["history"]] == [1, 2] for r in never)
    assert all(r["accuracy"] == 0 and r["slope"] == 0 and r["failing"] for r in never)
    assert {r["arm"] for r in memory.values()} == {"a", "b"}
    for index in (1, 2):
        m = rows[index]
        assert m["synth/failing"] == 4 and (m["synth/budget/a"], m["synth/budget/b"]) == (6, 2)  # rates 3/4, 1/4
        candidates = run.read_records(index, "synth_candidates.jsonl")
        per_arm = {arm: sum(c["meta"]["arm"] == arm for c in candidates) for arm in "ab"}
        assert per_arm == {"a": 12, "b": 4}  # budget x candidates, spread over the arm's failing problems
        samples = [from_dict(Sample, d) for d in run.read_records(index, "synth_samples.jsonl")]
        scores = [from_dict(Score, d) for d in run.read_records(index, "synth_scores.jsonl")]
        counts = accuracies(samples, scores)
        in_band = [c["id"] for c in candidates if 0.125 <= counts[c["id"]][0] / 4 <= 0.875]
        kept = [p["id"] for p in run.read_records(index, "synth.jsonl")]
        used = {"a": 0, "b": 0}
        expected = []
        for c in candidates:
            arm = c["meta"]["arm"]
            if c["id"] in in_band and used[arm] < {"a": 6, "b": 2}[arm]:
                used[arm] += 1
                expected.append(c["id"])
        assert kept == expected and m["synth/kept"] == len(kept) > 0
        selected = {r["problem_id"] for r in run.read_records(index, "selected.jsonl")}
        assert set(kept) <= selected  # every kept problem has a correct sample, so it is trained on
        own = run.read_records(index, "samples.jsonl")  # rollout/ metrics stay on the round's own problems
        assert len(own) == 8 * 4 and m["rollout/tokens"] == sum(x["n_tokens"] for x in own)


def test_memory_only_leaves_the_round_data_alone(tiny_path, tmp_path):
    on = run_loop(config(tiny_path, "synthesis.enabled=false", "synthesis.memory=true", "loop.rounds=1"),
                  str(tmp_path / "m"))
    off = run_loop(config(tiny_path, "synthesis.enabled=false", "loop.rounds=1"), str(tmp_path / "o"))
    run = RunDir(tmp_path / "m")
    assert len(run.read_records(1, "failures.jsonl")) == 8 and not run.has(1, "synth.jsonl")
    assert not (tmp_path / "o" / "failures.jsonl").exists() and "synth/failing" not in off[1]
    assert on[1]["synth/failing"] == 4
    assert on[1]["eval/accuracy"] == off[1]["eval/accuracy"] and on[1]["select/kept"] == off[1]["select/kept"]


def test_nothing_failing_makes_nothing(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "task.callable=synth_task:make_easy_task", "loop.rounds=1",
                           "synthesis.fail_below=0.01"), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert rows[1]["synth/failing"] == 0 and rows[1]["synth/candidates"] == rows[1]["synth/kept"] == 0
    assert run.read_records(1, "synth.jsonl") == [] and not run.has(1, "synth_samples.jsonl")


KILLER = """
import os, signal, sys
sys.path[:0] = [{tests!r}, {src!r}]
import conftest
from selftaught.loop import synthesis
from selftaught.loop.rounds import run_loop
point = {point!r}
if point == "keep":
    synthesis._keep = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
else:
    real = synthesis.RoundContext.generate_step
    def step(self, model_round, index, problems, params, n, stem, label, **kw):
        if stem == "synth":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, model_round, index, problems, params, n, stem, label, **kw)
    synthesis.RoundContext.generate_step = step
run_loop(conftest.loop_config({tiny!r}, *{sets!r}), {run!r})
"""


@pytest.mark.parametrize("point", ["sample", "keep"])
def test_kill_9_during_synthesis_then_rerun_makes_the_same_problems(tiny_path, tmp_path, point):
    sets = [*SYNTH, "loop.rounds=1"]
    whole = run_loop(config(tiny_path, "loop.rounds=1"), str(tmp_path / "whole"))
    script = KILLER.format(tests=str(TESTS), src=str(TESTS.parent / "src"), point=point, tiny=tiny_path,
                           sets=sets, run=str(tmp_path / "killed"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]
    run = RunDir(tmp_path / "killed")
    assert run.has(1, "synth_candidates.jsonl") and not run.has(1, "synth.jsonl")
    assert run.has(1, "synth_samples.jsonl") == (point == "keep")
    resumed = run_loop(config(tiny_path, "loop.rounds=1"), str(tmp_path / "killed"))
    a, b = RunDir(tmp_path / "whole"), run
    for name in ("synth_candidates.jsonl", "synth_samples.jsonl", "synth.jsonl", "failures.jsonl", "selected.jsonl"):
        assert a.path(1, name).read_text() == b.path(1, name).read_text(), name
    keys = ("synth/kept", "select/kept", "train/loss", "eval/accuracy")
    assert [resumed[1].get(k) for k in keys] == [whole[1].get(k) for k in keys]


@pytest.mark.parametrize("sets, words", [
    (["synthesis.band=[0.9, 0.1]"], ["synthesis.band", "low <= high"]),
    (["synthesis.teacher.enabled=true"], ["synthesis.teacher", "synthesis.teacher.model"]),
    (["synthesis.enabld=true"], ["synthesis.enabld", "synthesis.enabled"]),
    (["synthesis.n_problems=0"], ["synthesis.n_problems"]),
    (["task.callable=null", "task.path=x.jsonl", "synthesis.enabled=true"], ["synthesis.teacher.enabled", "task.path"]),
])
def test_bad_synthesis_config_names_the_key(tiny_path, sets, words):
    with pytest.raises(ConfigError) as e:
        loop_config(tiny_path, *sets)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_task_without_generator_is_refused_before_a_model_loads(tmp_path):
    cfg = loop_config(str(tmp_path / "no-such-model"), "task.callable=synth_task:make_plain_task",
                      "synthesis.enabled=true")
    with pytest.raises(ConfigError, match="synthesis.enabled: task `mod` has no problem generator"):
        run_loop(cfg, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
