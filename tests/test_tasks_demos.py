"""Self-generated demonstrations: verified attempts with reasoning become the few-shot examples, kept in
demos.jsonl and read back on resume."""

import json
from types import SimpleNamespace

import pytest

from _inference_fakes import ScriptedGenerator
from conftest import loop_config
from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.loop import rounds as rounds_mod
from selftaught.loop.rounds import run_loop
from selftaught.tasks.demos import apply_demos, has_reasoning, pick_demos
from selftaught.tasks.gym import ReasoningGymTask


def _cfg(demos="self", few_shot=2):
    return SimpleNamespace(seed=0, task=SimpleNamespace(demos=demos, few_shot=few_shot),
                           sampling=SimpleNamespace(temperature=0.7, top_p=1.0, max_new_tokens=64, batch_size=8,
                                                    matmul_dtype="model", n=2))


def _solver(task):
    """Answers a chain_sum problem with steps on odd problems, bare (no reasoning) on even ones."""
    def respond(prompt, pid, j, params):
        expression = prompt[-1]["content"].split(":")[-1].strip(" =")
        value = eval(expression)  # noqa: S307 (a test fake: chain_sum's expressions are + and - of integers)
        odd = int(pid.rsplit("-", 1)[1]) % 2
        return f"Adding left to right: {expression} = {value}\nAnswer: {value}" if odd else f"Answer: {value}"
    return respond


def test_pick_demos_keeps_correct_attempts_with_reasoning_one_per_problem():
    problems = [Problem(f"p{i}", [{"role": "user", "content": f"q{i}"}], "1") for i in range(3)]
    texts = {"p0": ["Answer: 1", "1 + 0 = 1 so it is one\nAnswer: 1"], "p1": ["so it is 2 now\nAnswer: 2"],
             "p2": ["first 1, then 1 again\nAnswer: 1", "again 1 and 1 here\nAnswer: 1"]}
    samples = [Sample(p, t, 3, index=j) for p, ts in texts.items() for j, t in enumerate(ts)]
    scores = [Score(s.id, s.text[-1], "correct" if s.text.endswith("1") else "incorrect", 1.0) for s in samples]
    demos = pick_demos(problems, samples, scores, k=3)
    assert [(d["problem_id"], d["sample_id"]) for d in demos] == [("p0", "p0#1"), ("p2", "p2#0")]
    assert demos[0]["question"] == "q0" and demos[0]["worked"].startswith("1 + 0 = 1")
    assert not has_reasoning("Working it out gives 1.\nAnswer: 1") and not has_reasoning("no answer line here at all")


def test_self_demos_replace_the_examples_and_are_reused_on_resume(tmp_path):
    task = ReasoningGymTask("chain_sum")
    generator = ScriptedGenerator(_solver(task))
    said = []
    assert apply_demos(task, _cfg(), tmp_path, lambda *a: generator, said.append)
    rows = [json.loads(line) for line in (tmp_path / "demos.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rows] == ["self", "self"] and "2 of 2" in said[0]
    assert task.examples() == [(r["question"], r["worked"]) for r in rows]
    assert all(w.startswith("Adding left to right") for _, w in task.examples())
    prompt = task.problems("eval", 1, 0)[0].prompt
    assert prompt[2]["content"] == rows[0]["worked"] and "examples=replaced" in task.version

    again = ReasoningGymTask("chain_sum")
    assert apply_demos(again, _cfg(), tmp_path, lambda *a: pytest.fail("resume must not sample again"), said.append)
    assert again.examples() == task.examples()


def test_too_few_verified_attempts_are_filled_with_the_tasks_own_examples(tmp_path):
    task = ReasoningGymTask("chain_sum")
    given = task.examples()
    apply_demos(task, _cfg(), tmp_path, lambda *a: ScriptedGenerator(lambda *x: "I think\nAnswer: 12345"))
    rows = [json.loads(line) for line in (tmp_path / "demos.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rows] == ["given", "given"] and task.examples() == given


def test_given_demos_change_nothing_and_a_task_without_set_examples_is_refused(tmp_path):
    task = ReasoningGymTask("chain_sum")
    assert not apply_demos(task, _cfg("given"), tmp_path, lambda *a: pytest.fail("no sampling"))
    assert not (tmp_path / "demos.jsonl").exists()
    with pytest.raises(ConfigError, match="task.demos: self needs a task"):
        apply_demos(SimpleNamespace(name="x"), _cfg(), tmp_path, lambda *a: None)


def test_the_loop_prompts_its_evaluation_with_the_self_demos(tiny_path, tmp_path, monkeypatch):
    from selftaught.core.config import load_config

    task = ReasoningGymTask("chain_sum")
    generator = ScriptedGenerator(_solver(task))
    monkeypatch.setattr(rounds_mod.ModelState, "generator", lambda self, *a, **k: generator)
    cfg = load_config(None, ["task.name=chain_sum", f"model={tiny_path}", "device=cpu", "task.n_eval=4",
                             "task.n_train=4", "loop.rounds=0", "task.demos=self"])
    run_loop(cfg, str(tmp_path / "run"))
    demos = [json.loads(line) for line in (tmp_path / "run" / "demos.jsonl").read_text().splitlines()]
    eval_prompts = [json.loads(line) for line in (tmp_path / "run" / "rounds" / "000" / "eval_samples.jsonl")
                    .read_text().splitlines()]
    assert len(eval_prompts) == 4 and generator.calls[-1]["prompts"][0][2]["content"] == demos[0]["worked"]
    with pytest.raises(ConfigError):
        run_loop(loop_config(tiny_path, "task.demos=self", "loop.rounds=0"), str(tmp_path / "other"))
