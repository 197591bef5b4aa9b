"""Search outputs as the loop's training attempts (sampling.strategy, loop/search_rollouts.py): the round's
samples are the search's finished solutions (the same as calling the strategy on the same problems and
seed), n per problem, charged every generated token; selection and training run on them; a rerun does not
search again; learned_prm reads the previous round's PRM (step_logprob before one exists); bad
combinations are refused before a model loads."""

from __future__ import annotations

import pytest
from _inference_fakes import ScriptedGenerator
from conftest import loop_config

from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.core.io import read_jsonl
from selftaught.core.seeds import seed_for
from selftaught.inference import strategy_run
from selftaught.inference.base import Context
from selftaught.loop.rounds import run_loop
from selftaught.loop.search_rollouts import search_config
from selftaught.loop.state import ModelState
from selftaught.scoring.step_scorers import STEP_SCORERS
from loop_task import make_sum_task

SUM = "task.callable=loop_task:make_sum_task"


def respond(prompt, pid, j, params):
    """First steps `Answer: 4`, a<seed>, b<seed>, c<seed>; a second step: right for child 0, wrong otherwise."""
    if isinstance(prompt, list):
        return ["Answer: 4", "a", "b", "c"][j % 4] + ("" if j % 4 == 0 else str(params.seed % 97))
    return "Answer: 4" if j == 0 else "Answer: 3"


class ByFirstLetter:
    """A step scorer by the step's first letter (Answer: 4 -> 0.8, Answer: 3 -> 0.5)."""

    TABLE = {"a": 0.3, "b": 0.9, "c": 0.6, "Answer: 4": 0.8, "Answer: 3": 0.5}

    def step_scores(self, problems, steps):
        return [[self.TABLE.get(x, self.TABLE.get(x[:1], 0.1)) for x in s] for s in steps]


@pytest.fixture
def scripted(monkeypatch):
    """The loop's generations go to a scripted model and step scorer `by_letter`; returns the generator."""
    gen = ScriptedGenerator(respond)
    monkeypatch.setattr(ModelState, "generator", lambda self, index, batch_size=None, matmul_dtype="model": gen)
    monkeypatch.setitem(STEP_SCORERS._items, "by_letter", ByFirstLetter())
    return gen


def direct(cfg, index: int = 1):
    """The strategy called directly on round `index`'s problems with the round's sampling seed."""
    task = make_sum_task()
    problems = task.problems("train", cfg.task.n_train, cfg.seed + index)
    scfg = search_config(cfg, cfg.sampling.temperature, cfg.sampling.max_new_tokens)
    ctx = Context(task, ScriptedGenerator(respond), seed=seed_for(cfg.seed, "sample", index))
    return problems, strategy_run(cfg.sampling.strategy)(scfg, ctx, problems)


def finished(result) -> list[str]:
    return [e["text"] for e in result.trace if e["step"] == "sample"]


@pytest.mark.parametrize("strategy, n, texts", [
    # beam search: Answer: 4 finishes at once; b and c (the 2 best growing) grow 2 children each: 5 solutions,
    # the 4 best kept (c's wrong child, 0.5 and the latest, is dropped)
    ("beam_search", 4, ["Answer: 4", "b{s}\nAnswer: 4", "b{s}\nAnswer: 3", "c{s}\nAnswer: 4"]),
    # dvts: 2 subtrees of 2 first steps each ([Answer: 4, a], [b, c]): the finished answer, then b's right child
    ("dvts", 2, ["Answer: 4", "b{s}\nAnswer: 4"]),
])
def test_the_rounds_attempts_are_the_searchs_solutions(tiny_path, tmp_path, scripted, strategy, n, texts):
    cfg = loop_config(tiny_path, SUM, f"sampling.strategy={strategy}", f"sampling.n={n}", "sampling.search.prm=by_letter",
                      "sampling.search.beam_width=2", "sampling.search.max_steps=3", "sampling.max_new_tokens=16",
                      "loop.rounds=1")
    metrics = run_loop(cfg, str(tmp_path / "run"))[1]
    r1 = tmp_path / "run" / "rounds" / "001"
    samples = read_jsonl(r1 / "samples.jsonl")
    problems, results = direct(cfg)
    seed = seed_for(cfg.seed, "sample", 1)
    assert len(samples) == n * len(problems)
    for p, r in zip(problems, results):
        mine = [s for s in samples if s["problem_id"] == p.id]
        assert [s["text"] for s in mine] == [t.format(s=seed % 97) for t in texts]
        assert set(s["text"] for s in mine) <= set(finished(r)) and [s["index"] for s in mine] == list(range(n))
        assert sum(s["n_tokens"] for s in mine) == r.tokens  # every generated token, pruned ones too
        assert all(s["params"]["strategy"] == strategy and s["params"]["seed"] == seed for s in mine)
        assert [s["params"]["step_scores"][-1] for s in mine] == [s["stats"]["search_score"] for s in mine]
    assert metrics["rollout/tokens"] == sum(r.tokens for r in results)
    assert metrics["rollout/n_samples"] == n * len(problems)
    right = {s["id"] for s in samples if s["text"].endswith("Answer: 4")}
    selected = read_jsonl(r1 / "selected.jsonl")
    assert {s["sample_id"] for s in selected} == right and metrics["select/kept"] == len(right)
    assert metrics["train/steps"] > 0  # the round trained on the selected search solutions


def test_a_rerun_reads_the_attempts_back_instead_of_searching(tiny_path, tmp_path, scripted):
    cfg = loop_config(tiny_path, SUM, "sampling.strategy=beam_search", "sampling.n=4", "sampling.search.prm=by_letter",
                      "sampling.search.beam_width=2", "sampling.max_new_tokens=16", "loop.rounds=1")
    run = tmp_path / "run"
    first = run_loop(cfg, str(run))[1]
    r1 = run / "rounds" / "001"
    written = (r1 / "samples.jsonl").read_text()
    for name in ("metrics.json", "scores.jsonl", "selected.jsonl"):
        (r1 / name).unlink()  # kill -9 right after the search wrote its attempts
    scripted.calls.clear()
    again = run_loop(cfg, str(run))[1]
    assert not any(isinstance(p, str) for c in scripted.calls for p in c["prompts"])  # no step continued
    assert not any(c["ids"][0].startswith("train") for c in scripted.calls)  # no training problem sampled
    assert (r1 / "samples.jsonl").read_text() == written
    assert again["rollout/tokens"] == first["rollout/tokens"] and again["select/kept"] == first["select/kept"]


def test_learned_prm_reads_the_previous_rounds_prm_and_round_one_falls_back(tiny_path, tmp_path, scripted,
                                                                          monkeypatch, capsys):
    from selftaught.scoring.learned import LearnedVerifier

    monkeypatch.setitem(STEP_SCORERS._items, "step_logprob", ByFirstLetter())  # the scripted model has no log-probs
    cfg = loop_config(tiny_path, SUM, "sampling.strategy=beam_search", "sampling.n=4", "sampling.search.prm=learned_prm",
                      "sampling.search.beam_width=2", "sampling.max_new_tokens=16", "verifier.kinds=[prm]",
                      "verifier.label_samples=4", "verifier.label_k=2", "verifier.epochs=1", "verifier.batch_size=8",
                      "loop.rounds=2", "loop.keep_checkpoints=all")
    run_loop(cfg, str(tmp_path / "run"))
    assert "no PRM trained before round 1" in capsys.readouterr().out
    rounds = tmp_path / "run" / "rounds"
    one, two = read_jsonl(rounds / "001" / "samples.jsonl"), read_jsonl(rounds / "002" / "samples.jsonl")
    assert {(s["params"]["step_scorer"], s["params"]["prm_round"]) for s in one} == {("step_logprob", None)}
    assert {(s["params"]["step_scorer"], s["params"]["prm_round"]) for s in two} == {("learned_prm", 1)}
    prm = LearnedVerifier(str(rounds / "001" / "prm"), kind="prm")
    problems = {p.id: p for p in make_sum_task().problems("train", cfg.task.n_train, cfg.seed + 2)}
    steps = [s["text"].split("\n") for s in two]
    expected = prm.step_scores([problems[s["problem_id"]] for s in two], steps)
    assert [x for s in two for x in s["params"]["step_scores"]] == pytest.approx([x for row in expected for x in row])
    assert [len(s["params"]["step_scores"]) for s in two] == [len(row) for row in expected]


def test_sample_keeps_plain_sampling(tiny_path, tmp_path, scripted):
    cfg = loop_config(tiny_path, SUM, "loop.rounds=1")
    assert cfg.sampling.strategy == "sample" and cfg.sampling.search == {}
    run_loop(cfg, str(tmp_path / "run"))
    samples = read_jsonl(tmp_path / "run" / "rounds" / "001" / "samples.jsonl")
    assert all("strategy" not in s["params"] for s in samples) and len(samples) == 6 * cfg.sampling.n


@pytest.mark.parametrize("sets, needle", [
    (["sampling.strategy=beam_search", "sampling.token_budget=100"], "sampling.token_budget"),
    (["sampling.strategy=dvts", "train.method=grpo"], "train.method grpo"),
    (["sampling.strategy=dvts", "loop.kind=bstar"], "loop.kind bstar"),
    (["sampling.strategy=beam_search", "sampling.temperature=0"], "sampling.temperature must be > 0"),
    (["sampling.strategy=beam_search", "sampling.search.n=8"], "sampling.search.n: the search takes it from sampling.n"),
    (["sampling.strategy=beam_search", "sampling.search.prm=learned_prm"], "add `prm` to verifier.kinds"),
    (["sampling.search.beam_width=2"], "set sampling.strategy beam_search or dvts"),
])
def test_bad_combinations_fail_when_the_config_loads(sets, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config(None, sets)


@pytest.mark.parametrize("task, sets, needle", [
    ("make_multiline_task", [], "step_separator"),
    ("make_task", ["backend=openai", "server.follows_checkpoints=true"], "backend openai"),
    ("make_task", ["backend=vllm"], "backend vllm"),
    ("make_task", ["sampling.n=3", "sampling.search.beam_width=2"], "multiple of sampling.search.beam_width"),
    ("make_task", ["sampling.search.beam_wdth=2"], "did you mean `beam_width`"),
    ("make_task", ["sampling.search.prm=nope"], "sampling.search"),
])
def test_bad_input_fails_before_a_model_loads(tiny_path, monkeypatch, task, sets, needle):
    monkeypatch.setattr(ModelState, "__init__", lambda *a, **k: pytest.fail("a model was resolved"))
    cfg = loop_config(tiny_path, f"task.callable=loop_task:{task}", "sampling.strategy=beam_search", "sampling.n=4",
                      *sets)
    with pytest.raises(ConfigError, match=needle) as err:
        run_loop(cfg, "unused")
    assert "sampling." in str(err.value)


def test_beam_search_on_the_tiny_model_matches_the_strategy(tiny_path, tmp_path):
    from selftaught.models import build_generator, load_model

    cfg = loop_config(tiny_path, "sampling.strategy=beam_search", "sampling.n=4", "sampling.search.beam_width=2",
                      "sampling.search.max_steps=2", "sampling.search.max_step_tokens=3", "loop.rounds=1")
    metrics = run_loop(cfg, str(tmp_path / "run"))[1]
    samples = read_jsonl(tmp_path / "run" / "rounds" / "001" / "samples.jsonl")
    model, tok = load_model(tiny_path, device="cpu", dtype=cfg.dtype)
    from loop_task import make_task

    task = make_task()
    problems = task.problems("train", cfg.task.n_train, cfg.seed + 1)
    ctx = Context(task, build_generator(cfg, model, tok), seed=seed_for(cfg.seed, "sample", 1))
    results = strategy_run("beam_search")(search_config(cfg, 1.0, 6), ctx, problems)
    for p, r in zip(problems, results):
        mine = [s for s in samples if s["problem_id"] == p.id]
        assert len(mine) == 4 and {s["text"] for s in mine} <= set(finished(r))
        assert {s["params"]["step_scorer"] for s in mine} == {"step_logprob"}
    assert metrics["rollout/tokens"] == sum(r.tokens for r in results) and "train/loss" in metrics
