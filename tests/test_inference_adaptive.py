"""Adaptive consistency: the Beta / Dirichlet stopping rules, on a scripted generator."""

import pytest

from selftaught.inference import Context, build_strategy
from selftaught.inference.adaptive_consistency import beta_stop_probability, dirichlet_stop_probability
from selftaught.inference.adaptive_consistency import run as run_adaptive
from selftaught.inference.self_consistency import run as run_sc

from _inference_fakes import ExactTask, ScriptedGenerator


def test_beta_rule_closed_form():
    # unanimous: 1 - 2^-(v+1)
    for v in range(1, 8):
        assert beta_stop_probability([v]) == pytest.approx(1 - 2 ** -(v + 1))
    assert beta_stop_probability([3, 3, 1]) == 0.5
    assert beta_stop_probability([]) == 0.0
    # Beta(6, 2): P(p > 1/2) = 1 - I_0.5(6, 2) = 1 - 8/256 - ... = 0.9375 (hand: sum_{j<=5} C(7,j) / 128 = 120/128)
    assert beta_stop_probability([5, 1]) == pytest.approx(120 / 128)


def test_dirichlet_rule_is_reproducible_and_sane():
    assert dirichlet_stop_probability([6, 1, 1], seed=3) == dirichlet_stop_probability([6, 1, 1], seed=3)
    assert dirichlet_stop_probability([6, 1, 1], seed=3) > dirichlet_stop_probability([3, 2, 2], seed=3)
    assert dirichlet_stop_probability([]) == 0.0
    # one observed answer: the "not seen yet" category makes it the beta rule, 1 - 2^-(v+1)
    assert dirichlet_stop_probability([4], draws=40000) == pytest.approx(beta_stop_probability([4]), abs=0.01)


def _answers(script):
    """A generator answering problem pid's j-th overall sample with script[pid][j]."""
    counter = {}

    def respond(prompt, pid, j, params):
        i = counter.get(pid, 0)
        counter[pid] = i + 1
        return f"Answer: {script[pid][i]}"

    return ScriptedGenerator(respond)


def test_stops_when_the_vote_is_decided():
    task = ExactTask({"easy": "7", "split": "1"})
    gen = _answers({"easy": ["7"] * 16, "split": ["1", "2"] * 8})
    ctx = Context(task, gen)
    cfg = build_strategy("adaptive_consistency", {"batch": 2, "max_samples": 16, "confidence": 0.95})
    easy, split = run_adaptive(cfg, ctx, task.problems("eval", 2, 0))
    # unanimous: P = 1 - 2^-(v+1) >= 0.95 first at v = 4, i.e. after two batches of 2
    assert easy.extra["samples_used"] == 4 and easy.extra["stopped_early"] and easy.answer == "7"
    assert easy.extra["stop_probabilities"] == [0.875, 0.96875]
    # an even split never decides: runs to the cap, and the tie goes to the first answer seen
    assert split.extra["samples_used"] == 16 and not split.extra["stopped_early"] and split.answer == "1"
    assert easy.tokens == 4 * 2 and split.tokens == 16 * 2


def test_reads_the_same_pool_prefix_as_self_consistency():
    task = ExactTask({"p": "3"})
    gen = _answers({"p": ["3", "4", "3", "3", "4", "3", "3", "3"]})
    ctx = Context(task, gen)
    sc = run_sc(build_strategy("self_consistency", {"n": 8}), ctx, task.problems("eval", 1, 0))[0]
    calls = len(gen.calls)
    ad = run_adaptive(build_strategy("adaptive_consistency", {"batch": 2, "max_samples": 8}), ctx,
                      task.problems("eval", 1, 0))[0]
    assert len(gen.calls) == calls                     # everything came from the shared pool
    used = ad.extra["samples_used"]
    assert [e["text"] for e in ad.trace] == [e["text"] for e in sc.trace][:used]
