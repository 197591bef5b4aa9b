"""Judges that learn, on a tiny random Llama: self-rewarding DPO pairs in the loop (select.rule judge)
with no gold answer used, and self-rationalization rounds (`judge-train`) with resume and checkpoints."""

import re

import pytest
from _inference_fakes import ScriptedGenerator, last_user
from conftest import loop_config
from typer.testing import CliRunner

from selftaught.cli.main import app
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.loop import self_reward
from selftaught.loop.judge_train import run_judge_training
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from selftaught.scoring.rationale_judge import RationaleJudge


def _solution(prompt) -> str:
    return re.search(r"Proposed solution:\n(.*?)\n\nCheck", last_user(prompt), re.DOTALL).group(1)


def scripted_judge(monkeypatch, respond):
    """Replace the judge's generator (the tiny model writes no verdicts) by `respond(solution, j)`."""
    real = RationaleJudge

    def make(generator, **kw):
        return real(ScriptedGenerator(lambda prompt, pid, j, params: respond(_solution(prompt), j)), **kw)

    monkeypatch.setattr(self_reward, "RationaleJudge", make)


def even(text: str) -> bool:  # loop_task's verifier: a completion is right when its stripped length is even
    return len(text.strip()) % 2 == 0


def test_self_rewarding_pairs_follow_the_judge_not_the_verifier(tiny_path, tmp_path, monkeypatch):
    # a judge that is always wrong: every chosen sample is one the verifier rejects
    scripted_judge(monkeypatch, lambda sol, j: "Verdict: incorrect" if even(sol) else "Verdict: correct")
    cfg = loop_config(tiny_path, "sampling.n=4", "train.method=dpo", "select.rule=judge", "judge.m=2", "loop.rounds=1")
    rows = run_loop(cfg, str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    pairs = run.read_records(1, "pairs.jsonl")
    verdict = {s["sample_id"]: s["verdict"] for s in run.read_records(1, "scores.jsonl")}
    assert pairs and all(verdict[p["chosen_id"]] == "incorrect" and verdict[p["rejected_id"]] == "correct"
                         for p in pairs)
    m = rows[1]
    assert m["select/judge_accuracy"] == 0.0 and m["select/judge_auroc"] == 0.0 and m["select/precision"] == 0.0
    assert m["select/judge_parse_failure_rate"] == 0.0 and m["select/judge_judgments"] == 2 * 6 * 4
    judged = run.read_records(1, "judgments.jsonl")
    assert len(judged) == 24 and all(len(r["judgments"]) == 2 for r in judged)
    # each judgment keeps what it cost (the scripted judge's "Verdict: x" is 2 words, its n_tokens)
    assert all(j["n_tokens"] == 2 for r in judged for j in r["judgments"])


def test_self_rewarding_judgments_are_reused_on_resume(tiny_path, tmp_path, monkeypatch):
    calls = []

    def respond(sol, j):
        calls.append(sol)
        return "Verdict: correct" if even(sol) else "no verdict"  # unparsed: never chosen

    scripted_judge(monkeypatch, respond)
    cfg = loop_config(tiny_path, "sampling.n=4", "train.method=dpo", "select.rule=judge", "judge.m=1", "loop.rounds=1")
    first = run_loop(cfg, str(tmp_path / "run"))
    assert first[1]["select/judge_accuracy"] == 1.0 and first[1]["select/precision"] in (1.0, None)
    assert first[1]["select/judge_parse_failure_rate"] > 0
    n = len(calls)
    run = RunDir(tmp_path / "run")
    run.path(1, "metrics.json").unlink()  # killed before the round finished
    again = run_loop(cfg, str(tmp_path / "run"))
    assert len(calls) == n and again[1]["select/judge_accuracy"] == 1.0


def judge_config(tiny_path, *extra):
    return loop_config(tiny_path, "judge.m=2", "judge.n_answers=6", "judge.n_eval_answers=6", "judge.rounds=1",
                       "judge.max_new_tokens=8", "train.max_length=1600", *extra)


def test_self_rationalization_rounds_resume_and_keep_the_last_checkpoint(tiny_path, tmp_path, monkeypatch):
    from selftaught.train import dpo

    trained = []
    real = dpo.train_dpo
    monkeypatch.setattr(dpo, "train_dpo", lambda *a, **kw: trained.append(len(a[2])) or real(*a, **kw))
    # one judgment agrees with the verifier, the other does not: one pair per answer
    scripted_judge(monkeypatch, lambda sol, j: f"Verdict: {'correct' if even(sol) == (j == 0) else 'incorrect'}")
    rows = run_judge_training(judge_config(tiny_path), tmp_path / "run")
    run = RunDir(tmp_path / "run" / "judge")
    n = rows[1]["judge/train_answers"]
    assert [r["round"] for r in rows] == [0, 1] and trained == [n] and 6 <= n <= 12
    assert rows[0]["judge/auroc"] == 0.5 and rows[1]["judge/pairs"] == n == rows[1]["train/pairs"]
    judged = {r["sample_id"] for r in run.read_records(1, "judgments.jsonl")}
    truth = {s["sample_id"]: s["verdict"] == "correct" for s in run.read_records(1, "answers_scores.jsonl")}
    kinds = [(i.split("#")[0], truth[i]) for i in judged]
    assert len(kinds) == len(set(kinds)) == n  # judge.balanced: at most one right and one wrong answer a problem
    pairs = run.read_records(1, "judge_pairs.jsonl")
    assert all(p["truth"] == ("correct" if p["chosen"][0]["content"] == "Verdict: correct" else "incorrect")
               for p in pairs)
    assert "Proposed solution" in pairs[0]["prompt"][-1]["content"]
    assert run.checkpoint(1).exists() and rows[1]["checkpoint"] == str(run.checkpoint(1))
    eval_answers = run.read_records(0, "eval_answers_samples.jsonl")
    rows = run_judge_training(judge_config(tiny_path, "judge.rounds=2"), tmp_path / "run")  # a resume that extends
    assert [r["round"] for r in rows] == [0, 1, 2] and len(trained) == 2  # round 1 not retrained
    assert not run.checkpoint(1).exists() and run.checkpoint(2).exists()  # loop.keep_checkpoints: last
    assert run.read_records(0, "eval_answers_samples.jsonl") == eval_answers  # the same held-out answers
    run.path(2, "metrics.json").unlink()  # killed after training, before the round finished
    run_judge_training(judge_config(tiny_path, "judge.rounds=2"), tmp_path / "run")
    assert len(trained) == 2 and run.path(2, "metrics.json").exists()


def test_balance_verdicts_keeps_as_many_correct_as_incorrect_chosen_judgments(tiny_path, tmp_path, monkeypatch):
    from selftaught.train import dpo

    trained = []
    real = dpo.train_dpo
    monkeypatch.setattr(dpo, "train_dpo", lambda *a, **kw: trained.append(a[2]) or real(*a, **kw))
    scripted_judge(monkeypatch, lambda sol, j: f"Verdict: {'correct' if even(sol) == (j == 0) else 'incorrect'}")
    plain = run_judge_training(judge_config(tiny_path), tmp_path / "plain")
    rows = run_judge_training(judge_config(tiny_path, "judge.balance_verdicts=true"), tmp_path / "balanced")
    every = RunDir(tmp_path / "plain" / "judge").read_records(1, "judge_pairs.jsonl")
    kept = RunDir(tmp_path / "balanced" / "judge").read_records(1, "judge_pairs.jsonl")
    sides = [sum(p["truth"] == t for p in every) for t in ("correct", "incorrect")]
    assert min(sides) >= 1 and sides[0] != sides[1]  # the same answers: a pair per answer, unequal sides
    assert [sum(p["truth"] == t for p in kept) for t in ("correct", "incorrect")] == [min(sides)] * 2
    assert all(p in every for p in kept) and rows[1]["judge/pairs"] == len(kept) == len(trained[1]) < plain[1]["judge/pairs"]


def test_unbalanced_answers_are_one_per_problem(tiny_path, tmp_path, monkeypatch):
    scripted_judge(monkeypatch, lambda sol, j: "Verdict: correct")  # always agrees on right answers only
    rows = run_judge_training(judge_config(tiny_path, "judge.rounds=0", "judge.balanced=false"), tmp_path / "run")
    assert rows[0]["judge/eval_answers"] == 6 and rows[0]["judge/parse_failure_rate"] == 0.0


def test_judge_train_refuses_bad_input_before_a_model_loads(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["judge-train", "--set", "task.name=gcd", "--set", "model=/nonexistent/model",
                              "--set", "judge.m=0", "--run-dir", str(tmp_path / "r")])
    assert out.exit_code == 2 and "judge.m" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="select.rule judge .* needs train.method dpo"):
        load_config(None, ["task.name=gcd", "select.rule=judge"])
    with pytest.raises(ConfigError, match="judge.threshold"):
        load_config(None, ["task.name=gcd", "judge.threshold=1.5"])
    with pytest.raises(ConfigError, match="unknown key `judge.rounds_`"):
        load_config(None, ["task.name=gcd", "judge.rounds_=2"])
