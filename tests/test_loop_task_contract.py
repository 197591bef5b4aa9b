"""The Task contract: `score(problem, completion) -> Score`, as core/protocols.py documents it.

A user task written to exactly that signature runs a loop round through `task.callable`; the loop
stamps each Score with its sample's id. A score that cannot take two arguments fails at load."""

import sys
import textwrap

import pytest

from conftest import loop_config
from selftaught.core.errors import ConfigError
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir

MODULE = textwrap.dedent(
    """
    from selftaught.core.records import Problem, Score

    class TwoArgs:
        name = "two_args"
        version = "1"

        def problems(self, split, n, seed, level=None):
            return [Problem(f"{split}-{seed}-{i}", [{"role": "user", "content": f"q{i}"}], "even") for i in range(n)]

        def score(self, problem, completion):  # exactly the documented signature
            ok = len(completion.strip()) % 2 == 0
            return Score(problem.id, str(len(completion.strip())), "correct" if ok else "incorrect", float(ok))

    class ThreeArgs(TwoArgs):
        def score(self, problem, completion, sample_id):
            return super().score(problem, completion)

    def make_task():
        return TwoArgs()

    def make_three():
        return ThreeArgs()
    """
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "contract_tasks.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "contract_tasks"
    sys.modules.pop("contract_tasks", None)


def test_a_two_argument_user_task_runs_a_round(tiny_path, tmp_path, user_module):
    cfg = loop_config(tiny_path, f"task.callable={user_module}:make_task", "loop.rounds=1")
    rows = run_loop(cfg, str(tmp_path / "r"))
    assert [r["round"] for r in rows] == [0, 1]
    run = RunDir(tmp_path / "r")
    samples = run.read_records(1, "samples.jsonl")
    scores = run.read_records(1, "scores.jsonl")
    assert [s["sample_id"] for s in scores] == [x["id"] for x in samples]  # stamped by the loop
    assert len({s["sample_id"] for s in scores}) == len(scores) == 6 * 3
    verdict = {s["sample_id"]: s["verdict"] for s in scores}
    assert all(verdict[r["sample_id"]] == "correct" for r in run.read_records(1, "selected.jsonl"))
    evals = run.read_records(1, "eval_scores.jsonl")
    assert [s["sample_id"] for s in evals] == [x["id"] for x in run.read_records(1, "eval_samples.jsonl")]


def test_a_score_that_needs_more_arguments_fails_before_a_model_loads(tiny_path, tmp_path, user_module):
    cfg = loop_config(tiny_path, f"task.callable={user_module}:make_three")
    with pytest.raises(ConfigError, match=r"score\(problem, completion\)"):
        run_loop(cfg, str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()
