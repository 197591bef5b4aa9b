"""The fast backend's sampler: noise, stats, token frequencies, top-p, and the Triton kernel vs torch."""

import math
import os

import pytest
import torch

from selftaught.models import fast_kernels as fk
from selftaught.models.hf import token_stats


def _keys(n: int, seed: int = 0, step: int = 0) -> torch.Tensor:
    seeds = torch.tensor([fk.job_seed(seed, i, 0) for i in range(n)], dtype=torch.int64)
    return fk.row_keys(seeds, torch.full((n,), step, dtype=torch.int64))


def test_hash_stays_in_32_bits_and_mixes():
    x = fk.hash32(torch.arange(100_000, dtype=torch.int64))
    assert int(x.min()) >= 0 and int(x.max()) < 2**32
    assert len(set(x.tolist())) == 100_000  # a bijection on 32 bits: no collisions
    bits = torch.stack([(x >> b) & 1 for b in range(32)]).float().mean(1)
    assert torch.allclose(bits, torch.full_like(bits, 0.5), atol=0.01)


def test_job_seed_separates_seed_prompt_and_sample():
    seeds = {fk.job_seed(s, i, j) for s in range(3) for i in range(20) for j in range(5)}
    assert len(seeds) == 300


def test_gumbel_uniforms_are_uniform():
    g = fk.gumbel(_keys(64), 4096)
    u = torch.exp(-torch.exp(-g))  # back to the uniforms
    assert 0 < float(u.min()) and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.005
    hist = torch.histc(u, bins=10, min=0, max=1) / u.numel()
    assert torch.allclose(hist, torch.full_like(hist, 0.1), atol=0.005)


def test_stats_match_hf_token_stats():
    logits = torch.randn(5, 50) * 3
    token, logprob, entropy, certainty = fk.sample_torch(logits, _keys(5), 1.0, greedy=True)
    logp, ent, sc = token_stats(logits)
    assert torch.equal(token, logits.argmax(-1))
    assert torch.allclose(logprob, logp.gather(1, token[:, None]).squeeze(1), atol=1e-5)
    assert torch.allclose(entropy, ent, atol=1e-5)
    assert torch.allclose(certainty, sc, atol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_token_frequencies_match_softmax(temperature):
    probs = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005])
    rows = 40_000
    logits = probs.log().expand(rows, -1)
    token, *_ = fk.sample_torch(logits, _keys(rows, seed=7), 1.0 / temperature, greedy=False)
    freq = torch.bincount(token, minlength=8).float() / rows
    want = torch.softmax(probs.log() / temperature, -1)
    sd = (want * (1 - want) / rows).sqrt()
    assert torch.all((freq - want).abs() < 5 * sd + 1e-4), (freq, want)


def test_top_p_keeps_the_nucleus_only():
    probs = torch.tensor([0.5, 0.3, 0.1, 0.06, 0.04])
    rows = 20_000
    logits = probs.log().expand(rows, -1)
    token, *_ = fk.sample_torch(logits, _keys(rows, seed=3), 1.0, greedy=False, top_p=0.75)
    freq = torch.bincount(token, minlength=5).float() / rows
    assert freq[2:].sum() == 0  # 0.5 + 0.3 reaches 0.75: tokens 0 and 1 only
    assert abs(float(freq[0]) - 0.5 / 0.8) < 0.02


def test_same_keys_same_tokens_and_steps_differ():
    logits = torch.randn(16, 100)
    a = fk.sample_torch(logits, _keys(16, step=3), 1.0, greedy=False)[0]
    b = fk.sample_torch(logits, _keys(16, step=3), 1.0, greedy=False)[0]
    c = fk.sample_torch(logits, _keys(16, step=4), 1.0, greedy=False)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_gumbel_noise_is_finite_and_exact_over_all_24_bit_inputs():
    # u = (k + 0.5) / 2**24 near 1 used to round to 1.0 (g = inf: a uniformly random token, 0.3% of
    # draws over a 49k vocab) and lost most digits of the tail that decides a draw
    k = torch.arange(2**24, dtype=torch.int64)
    g = fk.gumbel_from_bits(k)
    v = ((2**24 - 1 - k).double() + 0.5) / 2**24  # 1 - u, exact
    ref = -torch.log(-torch.log1p(-v))
    assert bool(torch.isfinite(g).all())
    assert float((g.double() - ref).abs().max()) < 1e-5
    assert float(g.max()) == fk.GUMBEL_MAX


@pytest.mark.parametrize("top_p", [1.0, 0.9])
@pytest.mark.parametrize("scale,temperature", [(1.0, 1.0), (3.0, 0.7), (8.0, 0.5)])
def test_sparse_draw_gives_the_same_tokens_as_the_full_one(scale, temperature, top_p):
    torch.manual_seed(int(scale * 10))
    logits = torch.randn(32, 5000) * scale
    for step in range(3):
        keys = _keys(32, seed=2, step=step)
        full = fk.sample_torch(logits, keys, 1.0 / temperature, greedy=False, top_p=top_p)
        sparse = fk.sample_torch(logits, keys, 1.0 / temperature, greedy=False, top_p=top_p, sparse=True)
        for a, b in zip(full, sparse):
            assert torch.equal(a, b)


def _triton_ready() -> bool:
    return fk.triton is not None and torch.cuda.is_available()


@pytest.mark.skipif(not _triton_ready(), reason="needs Triton and a CUDA GPU")
@pytest.mark.parametrize("vocab,greedy,dtype", [(49152, False, torch.bfloat16), (49152, True, torch.bfloat16),
                                                 (1000, False, torch.float32), (37, True, torch.float32)])
def test_triton_kernel_matches_torch(vocab, greedy, dtype):
    torch.manual_seed(0)
    rows = 64
    logits = (torch.randn(rows, vocab, device="cuda") * 2).to(dtype)
    if greedy:  # a tie: the first index wins, as torch.argmax
        logits[0, 10] = logits[0, 20] = logits[0].max() + 1
    keys = _keys(rows).cuda()
    inv_t = torch.tensor(1 / 0.7, device="cuda")
    ref = fk.sample_torch(logits, keys, inv_t, greedy)
    got = fk.sample_triton(logits, keys, inv_t, greedy)
    assert (ref[0] == got[0]).float().mean() >= 0.98  # ulp differences in log() may flip a near-tie
    same = ref[0] == got[0]
    for r, g in zip(ref[1:], got[1:]):
        assert torch.allclose(r[same], g[same], atol=1e-4 * math.log(vocab))


def _triton_runs() -> bool:  # a GPU, or Triton's CPU interpreter (TRITON_INTERPRET=1 before import)
    return fk.triton is not None and (torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1")


@pytest.mark.skipif(not _triton_runs(), reason="needs Triton and a CUDA GPU (or TRITON_INTERPRET=1)")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_decode_attention_matches_sdpa(dtype):
    if dtype == torch.bfloat16 and not torch.cuda.is_available():
        pytest.skip("Triton's interpreter computes bf16 tl.dot wrongly")
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(1)
    slots, heads, kv, d, length = 6, 9, 3, 64, 200
    qk = torch.randn(slots, heads + kv, d, device=dev).to(dtype)
    q = qk[:, :heads]  # a strided view, as in the decode step
    cache_k = torch.randn(8, kv, length, d, device=dev).to(dtype)
    cache_v = torch.randn_like(cache_k)
    pos = torch.tensor([0, 1, 63, 64, 130, 199], device=dev)
    got = fk.decode_attention(q, cache_k, cache_v, pos)
    visible = torch.arange(length, device=dev)[None] <= pos[:, None]
    ref = torch.nn.functional.scaled_dot_product_attention(
        q.float().reshape(slots, kv, heads // kv, d), cache_k[:slots].float(), cache_v[:slots].float(),
        attn_mask=visible[:, None, None]).reshape(slots, heads, d)
    tol = 1e-4 if dtype == torch.float32 else 2e-2
    assert (got.float() - ref).abs().max() < tol


@pytest.mark.skipif(not _triton_runs(), reason="needs Triton and a CUDA GPU (or TRITON_INTERPRET=1)")
def test_triton_gumbel_noise_matches_torch_at_the_tail():
    import triton
    import triton.language as tl

    @triton.jit
    def noise(k_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        k = tl.load(k_ptr + offs, mask=offs < n, other=0).to(tl.uint32)
        tl.store(out_ptr + offs, fk._gumbel_noise(k), mask=offs < n)

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    k = torch.cat([torch.arange(2**24 - 2**16, 2**24), torch.arange(2**16), torch.randint(0, 2**24, (2**16,))])
    k = k.to(dev)
    out = torch.empty(k.shape, dtype=torch.float32, device=dev)
    noise[(triton.cdiv(len(k), 4096),)](k, out, len(k), BLOCK=4096)
    assert bool(torch.isfinite(out).all())  # a fast log near 1 would give 0 -> inf here
    assert float((out - fk.gumbel_from_bits(k)).abs().max()) < 1e-4
