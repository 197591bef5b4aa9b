"""HFGenerator on a tiny random Llama: shapes, order, seeding, greedy, EOS, log-probs, confidence stats."""

from __future__ import annotations

import math

import pytest
import torch

from selftaught.core.errors import SelftaughtError
from selftaught.core.protocols import Generator
from selftaught.core.records import SamplingParams
from selftaught.models.hf import HFGenerator, token_stats

PROMPTS = [
    "ab",
    [{"role": "user", "content": "What is 12 + 30? Think step by step."}],
    "The quick brown fox jumps",
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
]


def hand_greedy(model, tokenizer, prompt, max_new_tokens, eos_ids):
    """Argmax decoding one step at a time with full forward passes (no cache, no padding)."""
    ids = HFGenerator(model, tokenizer).encode([prompt])[0]
    out = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(torch.tensor([ids + out], device=model.device)).logits[0, -1]
            out.append(int(logits.argmax()))
            if out[-1] in eos_ids:
                break
    return out


def test_shapes_ids_and_params(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok, batch_size=5)
    params = SamplingParams(temperature=0.9, top_p=0.95, max_new_tokens=6, seed=3)
    out = gen.generate(PROMPTS, params, n=3, problem_ids=["a", "b", "c", "d"])
    assert isinstance(gen, Generator)
    assert [len(s) for s in out] == [3, 3, 3, 3]
    for pid, samples in zip("abcd", out):
        assert [s.problem_id for s in samples] == [pid] * 3
        assert [s.index for s in samples] == [0, 1, 2]
        for s in samples:
            assert s.params == {"temperature": 0.9, "top_p": 0.95, "max_new_tokens": 6, "seed": 3}
            assert 1 <= s.n_tokens <= 6 and s.finish_reason in ("stop", "length")
            assert set(s.stats) == {"mean_logprob", "mean_entropy", "self_certainty"}
            assert s.logprob < 0 and s.stats["mean_logprob"] == pytest.approx(s.logprob / s.n_tokens)
    assert [s.problem_id for s in gen.generate(PROMPTS[:2], params)[1]] == ["1"]
    assert gen.generate([], params) == []


def test_order_restored_after_length_bucketing(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    batched = HFGenerator(model, tok, batch_size=2).generate(PROMPTS, params)
    solo = [HFGenerator(model, tok).generate([p], params)[0][0] for p in PROMPTS]
    assert [s[0].text for s in batched] == [s.text for s in solo]
    assert [s[0].logprob for s in batched] == pytest.approx([s.logprob for s in solo], abs=1e-4)


def test_same_seed_same_samples_other_seed_differs(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok, batch_size=4)
    rng_before = torch.get_rng_state()
    texts = {}
    for seed in (0, 0, 1):
        out = gen.generate(PROMPTS[:2], SamplingParams(temperature=1.0, max_new_tokens=8, seed=seed), n=4)
        texts.setdefault(seed, []).append([s.text for group in out for s in group])
    assert texts[0][0] == texts[0][1]
    assert texts[0][0] != texts[1][0]
    assert len(set(texts[0][0][:4])) > 1  # the n samples of one prompt differ
    assert torch.equal(rng_before, torch.get_rng_state())  # the caller's RNG is left alone


def test_greedy_is_argmax_decoding(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok, batch_size=8)
    out = gen.generate(PROMPTS, SamplingParams(temperature=0.0, max_new_tokens=10, stop=()), n=2)
    for prompt, (s0, s1) in zip(PROMPTS, out):  # stop=(): the random model emits <|im_start|> at times
        ids = hand_greedy(model, tok, prompt, 10, gen.eos_ids)
        assert s0.text == tok.decode(ids, skip_special_tokens=True)
        assert s0.n_tokens == len(ids)
        assert (s1.index, s1.text, s1.logprob) == (1, s0.text, s0.logprob)


def test_eos_stops_and_sets_finish_reason(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    prompt, steps = PROMPTS[1], 12
    ids = hand_greedy(model, tok, prompt, steps, eos_ids=[])
    k = next(i for i in range(2, steps) if ids[i] not in ids[:i])  # a token first chosen at step k
    model.generation_config.eos_token_id = [2, ids[k]]  # EOS ids come from the generation_config too
    gen = HFGenerator(model, tok)
    assert gen.eos_ids == [2, ids[k]]
    stopped = gen.generate([prompt], SamplingParams(temperature=0.0, max_new_tokens=steps))[0][0]
    assert (stopped.finish_reason, stopped.n_tokens) == ("stop", k + 1)
    assert stopped.text == tok.decode(ids[:k + 1], skip_special_tokens=True)
    cut = gen.generate([prompt], SamplingParams(temperature=0.0, max_new_tokens=k))[0][0]
    assert (cut.finish_reason, cut.n_tokens) == ("length", k)


def test_logprob_matches_forward_pass(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok, batch_size=3)
    out = gen.generate(PROMPTS, SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=8, seed=5), n=2)
    for prompt, samples in zip(PROMPTS, out):
        prompt_ids = gen.encode([prompt])[0]
        for s in samples:
            completion = tok(s.text, add_special_tokens=False)["input_ids"]
            if s.finish_reason == "stop":
                completion = completion + [2]
            if len(completion) != s.n_tokens:  # a special token inside the text: not re-encodable
                continue
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([prompt_ids + completion])).logits[0].float(), -1)
            positions = range(len(prompt_ids) - 1, len(prompt_ids) + len(completion) - 1)
            expected = sum(logp[p, t].item() for p, t in zip(positions, completion))
            assert s.logprob == pytest.approx(expected, abs=1e-3)
            ent = -(logp.exp() * logp).sum(-1)[list(positions)].mean().item()
            assert s.stats["mean_entropy"] == pytest.approx(ent, abs=1e-3)


def test_token_stats_on_a_known_distribution():
    p = torch.tensor([[0.5, 0.25, 0.125, 0.125]])
    logp, entropy, certainty = token_stats(p.log() + 3.0)  # logits up to a constant
    assert torch.allclose(logp.exp(), p)
    assert entropy.item() == pytest.approx(1.75 * math.log(2))  # 1.75 bits
    # Kang et al.: -1/V * sum_v log(V p_v) = -(log 2 + log 1 + 2 log 0.5) / 4 = log(2) / 4
    assert certainty.item() == pytest.approx(math.log(2) / 4)
    assert token_stats(torch.zeros(2, 7))[2].abs().max().item() < 1e-6  # uniform: 0


def test_uniform_model_stats(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    with torch.no_grad():
        model.model.norm.weight.zero_()  # zero hidden state -> zero logits -> uniform distribution
    s = HFGenerator(model, tok).generate(["xy"], SamplingParams(temperature=1.0, max_new_tokens=5))[0][0]
    vocab = model.config.vocab_size
    assert s.logprob == pytest.approx(-s.n_tokens * math.log(vocab), rel=1e-5)
    assert s.stats["mean_entropy"] == pytest.approx(math.log(vocab), rel=1e-5)
    assert s.stats["self_certainty"] == pytest.approx(0.0, abs=1e-5)


def test_model_generation_config_defaults_do_not_leak(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = HFGenerator(model, tok)
    params = SamplingParams(temperature=0.0, max_new_tokens=6)
    before = gen.generate(PROMPTS[:2], params)
    model.generation_config.repetition_penalty = 5.0
    model.generation_config.no_repeat_ngram_size = 1
    assert [s[0].text for s in gen.generate(PROMPTS[:2], params)] == [s[0].text for s in before]


def test_chat_format_without_template_is_a_clear_error(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    tok.chat_template = None
    with pytest.raises(SelftaughtError, match="chat template"):
        HFGenerator(model, tok, prompt_format="chat")
    assert HFGenerator(model, tok).prompt_format == "plain"  # auto: a base model gets plain text


def test_no_pad_token_and_right_padding_tokenizer(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    params = SamplingParams(temperature=0.0, max_new_tokens=6)
    expected = [s[0].text for s in HFGenerator(model, tok, batch_size=4).generate(PROMPTS, params)]
    tok.pad_token = None
    tok.padding_side = "right"
    gen = HFGenerator(model, tok, batch_size=4)
    assert gen.pad_id == 2  # the EOS id
    assert [s[0].text for s in gen.generate(PROMPTS, params)] == expected
    assert (tok.padding_side, tok.pad_token) == ("right", None)  # the caller's tokenizer is not changed
