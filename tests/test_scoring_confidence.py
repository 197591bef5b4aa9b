"""Self-certainty against a hand computation, the backend's stats, Borda, log-prob, oracle, judge."""

import math

import pytest
import torch

from selftaught.core.errors import SelftaughtError
from selftaught.core.records import Problem, Sample, SamplingParams
from selftaught.scoring import make_scorer
from selftaught.scoring.confidence import (borda_weights, make_mean_logprob, make_self_certainty,
                                           make_self_certainty_borda, self_certainty_of_logits)
from selftaught.scoring.judge import make_judge

from _inference_fakes import ExactTask


def test_self_certainty_matches_a_hand_computation():
    # two positions over a vocabulary of 3
    logits = torch.tensor([[math.log(1.0), math.log(2.0), math.log(1.0)],   # p = (1/4, 1/2, 1/4)
                           [0.0, 0.0, 0.0]])                                # uniform
    # KL(U || p) = sum_v 1/3 * log((1/3) / p_v)
    kl_first = (math.log((1 / 3) / 0.25) * 2 + math.log((1 / 3) / 0.5)) / 3
    assert self_certainty_of_logits(logits) == pytest.approx((kl_first + 0.0) / 2, abs=1e-6)
    assert self_certainty_of_logits(logits, mask=torch.tensor([1, 0])) == pytest.approx(kl_first, abs=1e-6)
    assert self_certainty_of_logits(logits[1]) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError):
        self_certainty_of_logits(logits, mask=torch.tensor([0, 0]))


def test_self_certainty_matches_the_backend_statistic(tiny_model_and_tokenizer):
    from selftaught.models import HFGenerator

    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok, batch_size=4)
    (s,), = gen.generate(["abc"], SamplingParams(temperature=1.0, max_new_tokens=6, seed=3), n=1)
    prompt = tok("abc", return_tensors="pt")["input_ids"]
    completion = tok(s.text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    if s.finish_reason == "stop":
        completion = torch.cat([completion, torch.tensor([[tok.eos_token_id]])], dim=1)
    ids = torch.cat([prompt, completion], dim=1)
    with torch.no_grad():
        logits = model(ids).logits[0, prompt.shape[1] - 1:-1]
    assert completion.shape[1] == s.n_tokens
    assert self_certainty_of_logits(logits) == pytest.approx(s.stats["self_certainty"], rel=1e-4)
    assert make_self_certainty()([Problem("0", "abc")], [s]) == [s.stats["self_certainty"]]


def test_borda_weights_and_vote():
    assert borda_weights([5.0, 1.0, 3.0], p=1.0) == [3.0, 1.0, 2.0]
    assert borda_weights([1.0, 1.0], p=0.5) == [math.sqrt(2), 1.0]  # equal values: sample order
    samples = [Sample("q", f"Answer: {a}", 2, index=i, stats={"self_certainty": c})
               for i, (a, c) in enumerate([("4", 0.1), ("5", 0.9), ("4", 0.2), ("4.0", 0.3)])]
    rewards = make_self_certainty_borda(p=1.0)([Problem("q", "?")] * 4, samples)
    # ranks: 5 -> 1 (w 4), 4.0 -> 2 (w 3), 4 (0.2) -> 3 (w 2), 4 (0.1) -> 4 (w 1); group "4" = 1+2+3
    assert rewards == [6.0, 4.0, 6.0, 6.0]


def test_borda_ranks_within_each_problem():
    samples = [Sample("a", "Answer: 1", 1, stats={"self_certainty": 9.0}),
               Sample("b", "Answer: 2", 1, stats={"self_certainty": 1.0})]
    assert make_self_certainty_borda(p=1.0)([Problem("a", "?"), Problem("b", "?")], samples) == [1.0, 1.0]


def test_mean_logprob_and_missing_stats():
    s = Sample("p", "x", n_tokens=2, logprob=-1.0)
    assert make_mean_logprob(as_probability=False)([Problem("p", "q")], [s]) == [-0.5]
    assert make_mean_logprob()([Problem("p", "q")], [s])[0] == pytest.approx(math.exp(-0.5))
    with pytest.raises(SelftaughtError, match="self_certainty"):
        make_self_certainty()([Problem("p", "q")], [Sample("p", "x", 1)])


def test_oracle_is_the_task_verifier_and_needs_gold():
    task = ExactTask({"p": "4"})
    fn = make_scorer("oracle", task=task)
    assert fn([Problem("p", "?", "4")] * 2, [Sample("p", "Answer: 4", 2), Sample("p", "Answer: 5", 2)]) == [1.0, 0.0]
    with pytest.raises(SelftaughtError, match="gold"):
        fn([Problem("p", "?")], [Sample("p", "Answer: 4", 2)])


def test_judge_reads_p_yes_from_logits_and_caches(tiny_model_and_tokenizer):
    from selftaught.models import HFGenerator

    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok)
    j = make_judge(gen, batch_size=2)
    assert j.has_logits and j.yes_ids and j.no_ids   # char tokenizer: "y" and "n" (and "Y", "N")
    problems = [Problem("a", "?", meta={"question": "1+1?"})] * 3 + [Problem("b", "?", meta={"question": "2+2?"})]
    samples = [Sample("a", "Answer: 2", 2), Sample("a", "Answer: 3", 2), Sample("a", "Answer: 2", 2),
               Sample("b", "Answer: 4", 2)]
    values = j(problems, samples)
    assert all(0.0 <= v <= 1.0 for v in values) and values[0] == values[2]
    assert j.calls == 3 and j.prompt_tokens > 0          # the repeated (question, text) is judged once
    # P(yes) against a direct unpadded forward pass of one prompt
    ids = torch.tensor([gen.encode([j.messages(problems[3], samples[3])])[0]])
    with torch.no_grad():
        p = torch.softmax(model(ids).logits[0, -1], -1)
    expected = float(p[j.yes_ids].sum() / (p[j.yes_ids].sum() + p[j.no_ids].sum()))
    assert values[3] == pytest.approx(expected, rel=1e-4)


def test_judge_reads_p_yes_through_the_fast_sampler_too(tiny_model_and_tokenizer):
    """The fast backend gives the judge the same next-token probabilities as hf (it used to fall back to a
    0/1 greedy reply without saying so)."""
    from selftaught.models import HFGenerator
    from selftaught.models.fast import FastGenerator

    model, tok = tiny_model_and_tokenizer
    fast, hf = make_judge(FastGenerator(model, tok)), make_judge(HFGenerator(model, tok))
    assert fast.has_logits
    problems = [Problem("a", "?", meta={"question": "1+1?"}), Problem("b", "?", meta={"question": "20+2?"})]
    samples = [Sample("a", "1 + 1 = 2\nAnswer: 2", 2), Sample("b", "Answer: 23", 2)]
    values = fast(problems, samples)
    assert values == pytest.approx(hf(problems, samples), rel=1e-5) and all(0 < v < 1 for v in values)
