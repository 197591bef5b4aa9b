"""Equal compute across variants: sampling.token_budget stops a round's attempts once a token budget is spent,
select.max_records caps the round's training records (loop/context.py generate_budgeted, select/balance.py)."""

import json

from rich.console import Console

from _inference_fakes import ScriptedGenerator
from conftest import loop_config
from loop_task import gold_of
from selftaught.loop import rounds as rounds_mod
from selftaught.loop.rounds import run_loop


def _respond(prompt, pid, j, params):  # 5 tokens (words) per attempt, right on every problem
    return f"it is {j}\nAnswer: {gold_of(int(pid.rsplit('-', 1)[1]))}"


def _run(tiny_path, tmp_path, monkeypatch, *sets, name="run"):
    generator = ScriptedGenerator(_respond)
    monkeypatch.setattr(rounds_mod.ModelState, "generator", lambda self, *a, **k: generator)
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_mostly_one_task", "loop.rounds=1", "task.n_eval=4",
                      "task.n_train=24", "sampling.n=2", *sets)
    console = Console(record=True, width=200)
    rows = run_loop(cfg, str(tmp_path / name), console=console)
    return rows, generator, console.export_text()


def _records(tmp_path, name, file):
    return [json.loads(line) for line in (tmp_path / name / "rounds" / "001" / file).open()]


def test_token_budget_samples_chunks_until_the_budget_is_spent(tiny_path, tmp_path, monkeypatch):
    # 2 attempts x 5 tokens = 10 tokens a problem; chunks of 4 problems = 40 tokens; 90 tokens -> 3 chunks
    rows, gen, _ = _run(tiny_path, tmp_path, monkeypatch, "sampling.token_budget=90", "sampling.budget_chunk=4")
    training = [c for c in gen.calls if c["n"] == 2]
    assert [len(c["ids"]) for c in training] == [4, 4, 4]
    assert len({c["seed"] for c in training}) == 3  # each chunk its own seed
    samples = _records(tmp_path, "run", "samples.jsonl")
    assert len(samples) == 24 and len({s["problem_id"] for s in samples}) == 12
    assert rows[1]["rollout/tokens"] == 120 and rows[1]["select/kept"] == 24
    every = [int(pid.rsplit("-", 1)[1]) for c in training for pid in c["ids"]]
    assert every != sorted(every)  # a shuffled order, so a cut falls over all of the round's problems


def test_the_budgeted_round_resumes_from_its_samples(tiny_path, tmp_path, monkeypatch):
    first, _, _ = _run(tiny_path, tmp_path, monkeypatch, "sampling.token_budget=90", "sampling.budget_chunk=4")
    (tmp_path / "run" / "rounds" / "001" / "metrics.json").unlink()  # killed after sampling
    (tmp_path / "run" / "rounds" / "001" / "selected.jsonl").unlink()
    again, gen, _ = _run(tiny_path, tmp_path, monkeypatch, "sampling.token_budget=90", "sampling.budget_chunk=4")
    assert not [c for c in gen.calls if c["n"] == 2]  # no attempt sampled again
    assert again[1]["rollout/tokens"] == first[1]["rollout/tokens"] and again[1]["select/kept"] == 24


def test_a_budget_larger_than_the_round_warns(tiny_path, tmp_path, monkeypatch):
    rows, _, printed = _run(tiny_path, tmp_path, monkeypatch, "sampling.token_budget=10000")
    assert rows[1]["rollout/tokens"] == 240 and "sampling.token_budget 10000 not reached" in printed


def test_max_records_keeps_that_many_spread_over_problems(tiny_path, tmp_path, monkeypatch):
    rows, _, _ = _run(tiny_path, tmp_path, monkeypatch, "select.max_records=10")
    kept = _records(tmp_path, "run", "selected.jsonl")
    assert len(kept) == 10 == rows[1]["select/kept"] and len({r["problem_id"] for r in kept}) == 10
    _run(tiny_path, tmp_path, monkeypatch, "select.max_records=10", name="again")
    assert kept == _records(tmp_path, "again", "selected.jsonl")  # seeded
