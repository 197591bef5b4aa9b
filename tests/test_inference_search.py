"""Search strategies: PRM-weighted best-of-N and vote, step-level beam search, DVTS.

Scripted generators and a rule-based step scorer make the constructed cases (which beams are kept,
which subtree wins, what is charged); the tiny random Llama checks the model's own step scorer against
a plain forward pass, continuation prompts, determinism and token accounting on real backends.
"""

from __future__ import annotations

import math

import pytest
import torch
from _inference_fakes import ExactTask, ScriptedGenerator

from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem
from selftaught.inference import build_strategy, strategy_run
from selftaught.inference.base import Context
from selftaught.inference.prefix import continuation_prompt
from selftaught.scoring.step_scorers import STEP_SCORERS, ModelStepScorer, aggregate


class RuleScorer:
    """Scores a step by a table (default 0.5); records what it was asked."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table, self.calls = table, []

    def step_scores(self, problems, steps):
        self.calls.append([list(s) for s in steps])
        return [[self.table.get(x, 0.5) for x in s] for s in steps]


@pytest.fixture
def rule():
    scorer = RuleScorer({"a": 0.1, "b": 0.2, "c": 0.8, "d": 0.9, "Answer: 21": 0.99, "Answer: 31": 0.95,
                         "p a": 0.4, "Answer: 1": 0.9, "q b": 0.5, "Answer: 3": 0.6})
    STEP_SCORERS.register("rule_test", scorer)
    yield scorer
    del STEP_SCORERS._items["rule_test"]


def prefix_of(prompt) -> list[str]:
    """The steps already begun in a scripted prompt (plain format: after the question line)."""
    if isinstance(prompt, list):
        return []
    return [x for x in prompt.split("Question: ", )[-1].split("\n")[1:] if x]


def tree(prompt, pid, j, params):
    """Depth 0: steps a, b, c, d; depth 1: `Answer: <parent index + 1><j>` (finished)."""
    done = prefix_of(prompt)
    if not done:
        return "abcd"[j]
    return f"Answer: {'abcd'.index(done[0]) + 1}{j}"


def run(name, options, gen, task=None, n_problems=1):
    task = task or ExactTask({"p0": "21", "p1": "3"})
    cfg = build_strategy(name, options)
    return strategy_run(name)(cfg, Context(task, gen, seed=0), task.problems("eval", n_problems, 0))


def test_beam_search_keeps_the_best_scored_beams(rule):
    gen = ScriptedGenerator(tree)
    [r] = run("beam_search", {"n": 4, "beam_width": 2, "prm": "rule_test"}, gen)
    assert [c["n"] for c in gen.calls] == [4, 2]
    assert [prefix_of(p) for p in gen.calls[1]["prompts"]] == [["d"], ["c"]]  # best first; a, b pruned
    assert r.answer == "31" and r.confidence == pytest.approx(0.95)
    # generated: 4 one-word steps, then 4 two-word answers; scored: 4 one-word, then 4 three-word solutions
    assert r.tokens == 4 * 1 + 4 * 2 == sum(e["n_tokens"] for e in r.trace if e["step"] == "search")
    assert r.extra["scored_tokens"] == 4 * 1 + 4 * 3
    kept = [e["text"] for e in r.trace if e["step"] == "search" and e["iteration"] == 0 and e["kept"]]
    assert kept == ["c", "d"]


def test_dvts_grows_each_subtree_from_its_own_best(rule):
    gen = ScriptedGenerator(tree)
    [r] = run("dvts", {"n": 4, "beam_width": 2, "prm": "rule_test"}, gen)
    # subtrees {a, b} and {c, d}: each follows its own best (b, d), unlike beam search (d, c)
    assert [prefix_of(p) for p in gen.calls[1]["prompts"]] == [["b"], ["d"]]
    assert r.answer == "21" and r.extra["finished"] == 2
    assert r.tokens == 4 * 1 + 4 * 2 and r.extra["scored_tokens"] == 4 * 1 + 4 * 3
    voted = run("dvts", {"n": 4, "beam_width": 2, "prm": "rule_test", "final": "vote"}, ScriptedGenerator(tree))[0]
    assert voted.answer == "21" and voted.confidence == pytest.approx(0.99 / (0.99 + 0.5))


def test_prm_best_of_n_aggregates(rule):
    gen = ScriptedGenerator(lambda prompt, pid, j, params: ["p a\nAnswer: 1", "q b\nAnswer: 3"][j])
    picks = {how: run("prm_best_of_n", {"n": 2, "prm": "rule_test", "aggregate": how}, gen)[0].answer
             for how in ("last", "min", "prod")}
    assert picks == {"last": "1", "min": "3", "prod": "1"}  # [0.4, 0.9] vs [0.5, 0.6]
    r = run("prm_best_of_n", {"n": 2, "prm": "rule_test", "aggregate": "prod"}, gen)[0]
    assert r.confidence == pytest.approx(0.36) and r.tokens == 8 and r.extra["scored_tokens"] == 8  # 4 words each


def test_prm_vote_weights_by_step_scores(rule):
    texts = ["p a\nAnswer: 1", "x\nAnswer: 2", "y\nAnswer: 2"]  # last-step weights 0.9 vs 0.5 + 0.5
    gen = ScriptedGenerator(lambda prompt, pid, j, params: texts[j])
    assert run("prm_vote", {"n": 3, "prm": "rule_test"}, gen)[0].answer == "2"
    r = run("prm_vote", {"n": 3, "prm": "rule_test", "aggregate": "min"}, gen)[0]
    assert r.answer == "2" and r.confidence == pytest.approx(1.0 / 1.4)  # min: 0.4 vs 0.5 + 0.5
    one = run("prm_vote", {"n": 2, "prm": "rule_test"}, gen)[0]
    assert one.answer == "1"  # 0.9 against 0.5: the weight, not the count, decides


def test_aggregate_of_no_steps_is_zero():
    assert aggregate([], "min") == 0.0 and aggregate([0.5, 0.5], "prod") == 0.25


@pytest.mark.parametrize("options, needle", [
    ({"n": 6, "beam_width": 4}, "multiple of beam_width"),
    ({"n": 2, "beam_width": 4}, "multiple of beam_width"),
    ({"prm": None}, "no step scorer given"),
    ({"prm": "step_logprb"}, "did you mean `step_logprob`"),
])
def test_bad_search_options_are_config_errors(options, needle):
    for name in ("beam_search", "dvts"):
        with pytest.raises(ConfigError, match=needle):
            build_strategy(name, options)


def test_missing_prm_fails_before_a_model_loads(tmp_path):
    from selftaught.inference.runner import eval_main

    with pytest.raises(ConfigError, match="no step scorer"):
        eval_main({"name": "basic_arithmetic"}, str(tmp_path / "no-such-model"), "prm_vote", ["prm=null"],
                  out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_step_logprob_needs_a_local_model():
    gen = ScriptedGenerator(tree)
    with pytest.raises(ConfigError, match="backend hf or fast"):
        run("beam_search", {"n": 4, "beam_width": 2}, gen)


# ---- the tiny random Llama -------------------------------------------------------------------------

PROMPT = [{"role": "system", "content": "Add."}, {"role": "user", "content": "12 + 3?"}]


def test_model_step_scorer_matches_a_plain_forward_pass(tiny_model_and_tokenizer):
    from selftaught.models.hf import HFGenerator

    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok)
    scorer = ModelStepScorer(model, tok, gen.encode)
    problem = Problem("p", PROMPT, "15")
    solutions = [["12 + 3 = 15", "Answer: 15"], ["1"], ["x", "y", "Answer: 2"]]
    scorer.step_scores([problem], solutions[:1])  # the second call reuses the prompt's KV cache and this result
    got = scorer.step_scores([problem] * 3, solutions[::-1])[::-1]
    for steps, scores in zip(solutions, got):
        text = "\n".join(steps)
        prompt_ids = gen.encode([PROMPT])[0]
        ids = prompt_ids + tok(text, add_special_tokens=False)["input_ids"]  # char-level: token t is text[t]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
        token_lp = [float(logp[len(prompt_ids) + t - 1, ids[len(prompt_ids) + t]]) for t in range(len(text))]
        want, at = [], 0
        for s in steps:
            want.append(math.exp(sum(token_lp[at:at + len(s)]) / len(s)))
            at += len(s) + 1
        assert scores == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("backend", ["hf", "fast"])
def test_continuation_prompt_encodes_as_prompt_plus_prefix(tiny_model_and_tokenizer, backend):
    from selftaught.models.fast import FastGenerator
    from selftaught.models.hf import HFGenerator

    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok) if backend == "hf" else FastGenerator(model, tok, max_batch=4)
    encode = gen.encode if backend == "hf" else gen._hf.encode
    text = continuation_prompt(gen, PROMPT, "12 + 3 = 15\n")
    assert encode([text])[0] == encode([PROMPT])[0] + tok("12 + 3 = 15\n", add_special_tokens=False)["input_ids"]
    assert continuation_prompt(gen, PROMPT, "") == PROMPT


@pytest.mark.parametrize("name", ["beam_search", "dvts", "prm_best_of_n"])
def test_search_on_a_tiny_model_is_deterministic_and_charged(tiny_model_and_tokenizer, name):
    from selftaught.models.fast import FastGenerator

    model, tok = tiny_model_and_tokenizer
    task = ExactTask({"p0": "1", "p1": "2"})
    options = {"n": 4, "max_new_tokens": 12, "temperature": 1.0}
    if name != "prm_best_of_n":
        options.update(beam_width=2, max_steps=3, max_step_tokens=6)

    def once():
        return run(name, options, FastGenerator(model, tok, max_batch=8), task, n_problems=2)

    first, second = once(), once()
    assert [r.final_text for r in first] == [r.final_text for r in second]
    for r in first:
        assert r.tokens > 0 and r.extra["scored_tokens"] > 0
        if name != "prm_best_of_n":
            assert r.tokens == sum(e["n_tokens"] for e in r.trace if e["step"] == "search")
            assert all(len(e["scores"]) == len([x for x in e["text"].split("\n") if x.strip()])
                       for e in r.trace if e["step"] == "sample")


def test_beam_search_through_the_runner(tiny_model_and_tokenizer, tmp_path):
    from selftaught.inference.runner import evaluate_strategy
    from selftaught.models.hf import HFGenerator

    model, tok = tiny_model_and_tokenizer
    task = ExactTask({"p0": "1"})
    cfg = build_strategy("beam_search", {"n": 2, "beam_width": 2, "max_new_tokens": 8, "max_steps": 2})
    metrics = evaluate_strategy(task, HFGenerator(model, tok), task.problems("eval", 1, 0), cfg, tmp_path)
    assert metrics["strategy"] == "beam_search" and metrics["tokens/problem"] > 0
    assert metrics["scored_tokens/problem"] > 0
