"""backend fast with bf16 matmuls on a float32 model (`matmul_dtype`, the CPU default for training attempts
where the CPU multiplies bf16 natively): close to float32, really narrower, current after in-place
training, and chosen per purpose by the round loop (sampling vs held-out evaluation)."""

import pytest
import torch

from selftaught.core.records import SamplingParams
from selftaught.models import fast
from selftaught.models.fast import FastGenerator, pick_matmul_dtype
from selftaught.models.fast_model import prefill

from test_fast_generator import PROMPTS, tiny_model, tiny_tokenizer


@pytest.fixture
def llama():
    return tiny_model("llama"), tiny_tokenizer()


def _last_logits(gen, tok):
    ids = tok(PROMPTS[2])["input_ids"]
    with torch.inference_mode():
        _, _, logits = prefill(gen.weights, torch.tensor([ids]), torch.tensor([len(ids)]))
    return logits[0]


def test_bf16_matmuls_are_narrower_but_close(llama):
    model, tok = llama
    full, narrow = FastGenerator(model, tok, max_batch=8), FastGenerator(model, tok, max_batch=8,
                                                                         matmul_dtype="bfloat16")
    w = narrow.weights
    assert {t.dtype for t in (w.layers[0].wqkv, w.layers[0].wo, w.layers[0].wgu, w.layers[0].wdown, w.lm_head)} \
        == {torch.bfloat16}
    assert w.embed.dtype == w.norm.dtype == w.dtype == torch.float32  # residual stream, norms, KV cache
    a, b = _last_logits(full, tok), _last_logits(narrow, tok)
    assert a.dtype == b.dtype == torch.float32
    diff = (a - b).abs().max().item()
    assert 0 < diff < 0.05 * a.abs().max().item()  # bf16 rounding shows, and stays small
    greedy = SamplingParams(temperature=0.0, max_new_tokens=12)
    same = [x[0].text == y[0].text for x, y in zip(full.generate(PROMPTS, greedy), narrow.generate(PROMPTS, greedy))]
    assert sum(same) >= len(PROMPTS) - 1  # the tiny model's choices are sharp: at most one near-tie flips


def test_bf16_copies_follow_in_place_updates(llama):
    model, tok = llama
    gen = FastGenerator(model, tok, max_batch=8, matmul_dtype="bfloat16")
    params = SamplingParams(temperature=0.0, max_new_tokens=12)
    before = [r[0].logprob for r in gen.generate(PROMPTS, params)]
    with torch.no_grad():  # in place, as an optimizer step: the bf16 copies must be refreshed
        model.model.layers[0].self_attn.o_proj.weight.mul_(-1.0)
        model.model.layers[1].mlp.down_proj.weight.mul_(2.0)
        model.model.embed_tokens.weight.mul_(0.5)  # tied: the lm_head copy too
    after = gen.generate(PROMPTS, params)
    fresh = FastGenerator(model, tok, max_batch=8, matmul_dtype="bfloat16").generate(PROMPTS, params)
    assert [r[0].logprob for r in after] != pytest.approx(before, abs=1e-3)  # the update mattered
    assert [r[0].text for r in after] == [r[0].text for r in fresh]
    assert [r[0].logprob for r in after] == pytest.approx([r[0].logprob for r in fresh], abs=1e-5)


def test_set_matmul_dtype_switches_between_calls(llama):
    model, tok = llama
    gen = FastGenerator(model, tok, max_batch=8)
    assert gen.matmul_dtype is None and gen.weights.lm_head.dtype == torch.float32
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    first = gen.generate(PROMPTS, params)
    full = [r[0].logprob for r in first]
    gen.set_matmul_dtype("bfloat16")
    second = gen.generate(PROMPTS, params)
    narrow = [r[0].logprob for r in second]
    assert gen.weights.lm_head.dtype == torch.bfloat16 and narrow != full
    assert "matmul_dtype" not in first[0][0].params and second[0][0].params["matmul_dtype"] == "bfloat16"
    gen.set_matmul_dtype("model")
    assert [r[0].logprob for r in gen.generate(PROMPTS, params)] == full


def test_pick_matmul_dtype(llama, monkeypatch):
    model, _ = llama
    monkeypatch.setattr(fast, "cpu_has_bf16_matmul", lambda: True)
    assert pick_matmul_dtype("auto", model) == torch.bfloat16
    assert pick_matmul_dtype("auto", model.to(torch.bfloat16)) is None  # already narrow: nothing to gain
    model.float()
    monkeypatch.setattr(fast, "cpu_has_bf16_matmul", lambda: False)  # AVX2 laptop: bf16 would be slower
    assert pick_matmul_dtype("auto", model) is None
    assert pick_matmul_dtype("model", model) is None and pick_matmul_dtype(None, model) is None
    assert pick_matmul_dtype("bfloat16", model) == torch.bfloat16
    with pytest.raises(ValueError, match="matmul dtype"):
        pick_matmul_dtype("fp8", model)


def test_loop_samples_in_bf16_and_evaluates_in_the_model_dtype(tiny_path, tmp_path, monkeypatch):
    from conftest import loop_config
    from selftaught.loop.rounds import run_loop

    used = []
    original = FastGenerator.generate

    def spy(self, prompts, params, n=1, problem_ids=None):
        out = original(self, prompts, params, n, problem_ids)
        used.append((params.greedy, self.matmul_dtype, self.weights.lm_head.dtype))  # the weights it ran with
        return out

    monkeypatch.setattr(FastGenerator, "generate", spy)
    cfg = loop_config(tiny_path, "backend=fast", "sampling.matmul_dtype=bfloat16", "loop.rounds=1")
    run_loop(cfg, str(tmp_path / "run"))
    assert (True, None, torch.float32) in used  # held-out greedy eval: the model's dtype (the default)
    assert (False, torch.bfloat16, torch.bfloat16) in used  # training attempts: bf16 matmuls
    assert {u[0] for u in used} == {True, False}
    assert all(u[1] is None for u in used if u[0]) and all(u[1] == torch.bfloat16 for u in used if not u[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_bf16_matmuls_in_graphs_match_eager():
    """The loop keeps float32 weights on a GPU too, so `sampling.matmul_dtype: bfloat16` is the GPU's fast
    path; the casts must replay correctly inside captured CUDA graphs."""
    model, tok = tiny_model().to("cuda"), tiny_tokenizer()
    params = SamplingParams(temperature=0.0, max_new_tokens=24)
    eager = FastGenerator(model, tok, max_batch=8, cuda_graphs=False, matmul_dtype="bfloat16").generate(PROMPTS, params)
    graphs = FastGenerator(model, tok, max_batch=8, sync_every=5, matmul_dtype="bfloat16").generate(PROMPTS, params)
    assert [r[0].text for r in eager] == [r[0].text for r in graphs]
    assert [r[0].logprob for r in eager] == pytest.approx([r[0].logprob for r in graphs], abs=1e-3)
