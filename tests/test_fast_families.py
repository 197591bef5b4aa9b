"""`backend: fast` on families beyond Llama: greedy tokens agree with transformers `generate` in float32,
and a family the fast sampler does not cover falls back to `hf` with one printed note."""

import pytest
import torch

from conftest import make_tiny_tokenizer
from selftaught.core.config import load_config
from selftaught.core.records import SamplingParams
from selftaught.models import build_generator
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from tiny_families import tiny_family

SUPPORTED = ["llama", "qwen2", "qwen3", "mistral", "phi3"]
PROMPTS = ["Calculate 12 + 7.", "Hi", "Sort these numbers: 5, 3, 9, 1, 7 and explain.", "x"]


@pytest.mark.parametrize("kind", SUPPORTED)
def test_fast_greedy_matches_hf(kind):
    tok = make_tiny_tokenizer()
    model = tiny_family(kind, len(tok))
    params = SamplingParams(temperature=0.0, max_new_tokens=16)
    hf = HFGenerator(model, tok, batch_size=4).generate(PROMPTS, params)
    fast = FastGenerator(model, tok, max_batch=8).generate(PROMPTS, params)
    for h, f in zip(hf, fast):
        assert f[0].text == h[0].text and f[0].n_tokens == h[0].n_tokens


@pytest.mark.parametrize("kind", SUPPORTED)
def test_fast_sampled_logprob_matches_hf(kind):
    """Sampled records: the fast sampler's log-prob of its own sample equals hf's stats on greedy text."""
    tok = make_tiny_tokenizer()
    model = tiny_family(kind, len(tok))
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    hf = HFGenerator(model, tok, batch_size=4).generate(PROMPTS[:2], params)
    fast = FastGenerator(model, tok, max_batch=8, share_prefix=False).generate(PROMPTS[:2], params)
    for h, f in zip(hf, fast):
        assert f[0].logprob == pytest.approx(h[0].logprob, abs=1e-3)


@pytest.mark.parametrize("kind", ["gemma3_text", "gpt2"])
def test_unsupported_family_falls_back_to_hf_with_one_note(kind, capsys):
    from selftaught.models import fast as fast_mod

    fast_mod.FALLBACK_NOTED.clear()
    tok = make_tiny_tokenizer()
    model = tiny_family(kind, len(tok))
    cfg = load_config(None, ["task.name=basic_arithmetic", "backend=fast", "device=cpu"])
    gens = [build_generator(cfg, model, tok) for _ in range(2)]
    assert all(isinstance(g, HFGenerator) for g in gens)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert out.count("backend fast") == 1 and kind in out and "hf" in out
    samples = gens[0].generate(PROMPTS[:1], SamplingParams(temperature=0.0, max_new_tokens=4))
    assert samples[0][0].n_tokens >= 1


def test_supported_family_builds_the_fast_generator():
    tok = make_tiny_tokenizer()
    cfg = load_config(None, ["task.name=basic_arithmetic", "backend=fast", "device=cpu"])
    assert isinstance(build_generator(cfg, tiny_family("qwen3", len(tok)), tok), FastGenerator)
