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

SUPPORTED = ["llama", "qwen2", "qwen3", "mistral", "phi3", "gemma3_text"]
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


@pytest.mark.parametrize("kind", ["gpt2", "phi3"])
def test_unsupported_family_falls_back_to_hf_with_one_note(kind, capsys):
    from selftaught.models import fast as fast_mod

    fast_mod.FALLBACK_NOTED.clear()
    tok = make_tiny_tokenizer()
    if kind == "phi3":  # rope on half the head dimensions: not what the fast pass computes
        from transformers import Phi3Config, Phi3ForCausalLM

        model = Phi3ForCausalLM(Phi3Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                                           num_hidden_layers=1, num_attention_heads=4, pad_token_id=0,
                                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                            "partial_rotary_factor": 0.5})).eval()
    else:
        model = tiny_family(kind, len(tok))
    cfg = load_config(None, ["task.name=basic_arithmetic", "backend=fast", "device=cpu"])
    gens = [build_generator(cfg, model, tok) for _ in range(2)]
    assert all(isinstance(g, HFGenerator) for g in gens)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert out.count("backend fast") == 1 and kind in out and "hf" in out
    assert ("partial rotary" if kind == "phi3" else "not one of the families") in " ".join(out.split())
    samples = gens[0].generate(PROMPTS[:1], SamplingParams(temperature=0.0, max_new_tokens=4))
    assert samples[0][0].n_tokens >= 1


def test_supported_family_builds_the_fast_generator():
    tok = make_tiny_tokenizer()
    cfg = load_config(None, ["task.name=basic_arithmetic", "backend=fast", "device=cpu"])
    assert isinstance(build_generator(cfg, tiny_family("qwen3", len(tok)), tok), FastGenerator)


def test_sequences_beyond_the_sliding_window_run_through_hf(capsys):
    """Mistral attends over a window: inside it the fast pass is exact; beyond it the call goes to hf."""
    from transformers import MistralConfig, MistralForCausalLM

    tok = make_tiny_tokenizer()
    torch.manual_seed(0)
    model = MistralForCausalLM(MistralConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                             sliding_window=24, pad_token_id=0, eos_token_id=2)).eval()
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(3)
    params = SamplingParams(temperature=0.0, max_new_tokens=16)
    long = [PROMPTS[2]]  # 47 characters: beyond the window
    fast = FastGenerator(model, tok).generate(long, params)
    assert "sliding window" in " ".join(capsys.readouterr().err.split())
    assert fast[0][0].text == HFGenerator(model, tok).generate(long, params)[0][0].text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", SUPPORTED)
def test_gpu_graphs_match_hf_per_family(kind):
    """On a GPU each decode step replays a CUDA graph: per family, float32 greedy tokens still equal hf's."""
    tok = make_tiny_tokenizer()
    model = tiny_family(kind, len(tok)).to("cuda")
    params = SamplingParams(temperature=0.0, max_new_tokens=16)
    hf = HFGenerator(model, tok, batch_size=4).generate(PROMPTS, params)
    fast = FastGenerator(model, tok, max_batch=8, cuda_graphs=True).generate(PROMPTS, params)
    assert [f[0].text for f in fast] == [h[0].text for h in hf]
