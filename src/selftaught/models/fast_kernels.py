"""Sampling for the fast backend: one pass over each row of logits gives the token and its stats.

For a row of raw logits `l` (temperature 1) it returns the chosen token, `log p(token)`, the entropy
and the self-certainty (`models.hf.token_stats` defines both), and picks the token by Gumbel-max:
`argmax(l / T + g)` with `g = -log(-log(u))` (greedy: `argmax(l)`, first index on ties, as torch).

The uniforms `u` are counter-based: a hash of (row key, vocab index), the row key a hash of
(job seed, token index). A sample's tokens therefore depend on its seed alone, not on which slot or
batch it ran in, and the torch version (CPU, and top-p) draws the very same noise as the Triton
kernel (GPU), so the two can be checked against each other. All hash arithmetic is mod 2**32 with
multipliers under 2**31, so torch's int64 never overflows.
"""

from __future__ import annotations

import math
import warnings

import torch

MASK32 = 0xFFFFFFFF
_M1, _M2 = 0x7FEB352D, 0x31848BAB  # odd multipliers < 2**31 (lowbias32-style mixing)
_STEP_MUL, _VOCAB_MUL = 0x2545F491, 0x27D4EB2D
_triton_failed = False

try:  # Triton only where a GPU is; the torch version serves everywhere else
    import triton
    import triton.language as tl
except Exception:  # pragma: no cover - CPU-only installs
    triton = None


def hash32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit mixing hash of int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * _M1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _M2) & MASK32
    return x ^ (x >> 16)


def job_seed(seed: int, prompt: int, sample: int) -> int:
    """The seed of sample `sample` of prompt `prompt` in a call seeded `seed` (a Python int < 2**32)."""
    t = torch.tensor([seed & MASK32], dtype=torch.int64)
    t = hash32(t ^ hash32(torch.tensor([prompt & MASK32])))
    t = hash32(t ^ hash32(torch.tensor([(sample * _STEP_MUL + 1) & MASK32])))
    return int(t)


def row_keys(seeds: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """Per-row noise keys [B] (int64 in [0, 2**32)) for job seeds [B] at token indices [B]."""
    return hash32(seeds ^ hash32((steps * _STEP_MUL + 0x68E31DA4) & MASK32))


def gumbel_from_bits(k: torch.Tensor) -> torch.Tensor:
    """Gumbel noise `-log(-log(u))`, float32, for u = (k + 0.5) / 2**24 and 24-bit ints k.

    The large values that decide a draw come from u near 1, which float32 holds badly: `k + 0.5`
    rounds for k >= 2**23, and the top k gives u == 1.0 exactly, so `-log(-log(u))` = +inf and that
    vocab entry wins whatever its logit (a uniformly random token in ~0.3% of draws over a 49k vocab),
    while the next values lose most digits (errors up to 0.29). So the exponential variate
    `e = -log(u)` is taken as `-log1p(-v)` by its series for small `v = 1 - u`, exact in float32 and
    independent of how accurate a log is near 1; from the log elsewhere. Error < 2e-6 for every k.
    The Triton kernel computes the same formula (`_gumbel_noise`).
    """
    m = (16777215 - k).to(torch.float32)  # v = (m + 0.5) / 2**24, exact where the series is used
    v = (m + 0.5) * (1.0 / 16777216.0)
    u = (k.to(torch.float32) + 0.5) * (1.0 / 16777216.0)
    series = v * (1.0 + v * (0.5 + v * (1.0 / 3.0 + v * (0.25 + v * 0.2))))  # error < v**6/6, v < 2**-5
    e = torch.where(m < SERIES_BELOW, series, -torch.log(u))
    return -torch.log(e)


def gumbel_at(keys: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gumbel noise (float32) of vocab entries `index` in rows keyed `keys` (int64, broadcastable)."""
    return gumbel_from_bits(hash32((keys + index * _VOCAB_MUL) & MASK32) >> 8)


def gumbel(keys: torch.Tensor, vocab: int) -> torch.Tensor:
    """[B, vocab] Gumbel noise, float32, from row keys [B]."""
    v = torch.arange(vocab, device=keys.device, dtype=torch.int64)
    return gumbel_at(keys[:, None], v[None, :])


SERIES_BELOW = 2**19  # m below this (v < 2**-5): the series
GUMBEL_MAX = float(gumbel_from_bits(torch.tensor([16777215])))  # the largest value gumbel_from_bits gives


def gumbel_argmax(scaled: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """`argmax(scaled + gumbel(keys))` per row, computing the noise only where it can matter (for CPUs).

    The argmax of `scaled` with its own noise is a score the winner must reach, and no noise exceeds
    `GUMBEL_MAX`, so only entries with `scaled >= that score - GUMBEL_MAX` can win; the noise of those
    few is the very same `gumbel_at` value, ties go to the first index: the same token as the full
    version (float32 rounding aside), at a fraction of the cost over a 49k vocab."""
    rows, vocab = scaled.shape
    ar = torch.arange(rows, device=scaled.device)
    top = scaled.argmax(-1)
    reach = scaled[ar, top] + gumbel_at(keys, top) - GUMBEL_MAX - 1e-3  # margin for log() rounding
    r, v = torch.nonzero(scaled >= reach[:, None], as_tuple=True)
    score = scaled[r, v] + gumbel_at(keys[r], v)
    best = torch.full((rows,), float("-inf"), device=scaled.device).scatter_reduce(0, r, score, "amax")
    first = torch.where(score == best[r], v, vocab)
    return torch.full((rows,), vocab, device=scaled.device).scatter_reduce(0, r, first, "amin")


def sample_torch(logits: torch.Tensor, keys: torch.Tensor, inv_temp: torch.Tensor | float, greedy: bool,
                 top_p: float | torch.Tensor = 1.0, sparse: bool = False) -> tuple[torch.Tensor, ...]:
    """(token, logprob, entropy, self_certainty), each [B], from raw logits [B, V] (the reference).

    `sparse`: draw through `gumbel_argmax` (same tokens, far fewer hashes; data-dependent shapes, so
    not inside a CUDA graph)."""
    lf = logits.float()
    log_z = torch.logsumexp(lf, dim=-1)
    p = torch.exp(lf - log_z[:, None])
    entropy = log_z - (p * lf).sum(-1)
    certainty = log_z - lf.mean(-1) - math.log(lf.shape[-1])
    if greedy:
        token = lf.argmax(-1)
    else:
        scaled = lf * inv_temp
        if not (isinstance(top_p, float) and top_p >= 1.0):
            scaled = scaled.masked_fill(_outside_top_p(scaled, top_p), float("-inf"))
        if sparse:
            token = gumbel_argmax(scaled, keys)
        else:
            token = (scaled + gumbel(keys, lf.shape[-1])).argmax(-1)
    logprob = lf.gather(1, token[:, None]).squeeze(1) - log_z
    return token, logprob, entropy, certainty


def _outside_top_p(scaled: torch.Tensor, top_p: float | torch.Tensor) -> torch.Tensor:
    """True where a token falls outside the nucleus: the smallest set of most likely tokens whose
    probability reaches `top_p` (the most likely token always stays)."""
    probs = torch.softmax(scaled, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(-1) - sorted_p  # mass of the tokens ranked above
    drop_sorted = before >= top_p
    drop_sorted[:, 0] = False
    return torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)


def sample(logits: torch.Tensor, keys: torch.Tensor, inv_temp: torch.Tensor, greedy: bool,
           top_p: float | torch.Tensor = 1.0, use_triton: bool | None = None) -> tuple[torch.Tensor, ...]:
    """`sample_torch`'s result; through the fused Triton kernel on a GPU when there is no top-p, through
    the sparse Gumbel draw on a CPU."""
    global _triton_failed
    if use_triton is None:
        use_triton = triton is not None and logits.is_cuda and not _triton_failed
    nucleus = not (isinstance(top_p, float) and top_p >= 1.0)
    if use_triton and not (nucleus and not greedy):
        try:
            return sample_triton(logits, keys, inv_temp, greedy)
        except Exception as e:  # a kernel that does not build here: the torch version gives the same
            if torch.cuda.is_current_stream_capturing():
                raise
            warnings.warn(f"fast backend: Triton sampler failed ({type(e).__name__}: {e}); using torch")
            _triton_failed = True
    return sample_torch(logits, keys, inv_temp, greedy, top_p, sparse=not logits.is_cuda)


if triton is not None:

    @triton.jit
    def _hash32(x):
        x = x ^ (x >> 16)
        x = x * 0x7FEB352D
        x = x ^ (x >> 15)
        x = x * 0x31848BAB
        return x ^ (x >> 16)

    @triton.jit
    def _gumbel_noise(k):
        """`gumbel_from_bits` for uint32 k < 2**24, the same formula."""
        m = 16777215 - k
        v = (m.to(tl.float32) + 0.5) * (1.0 / 16777216.0)
        u = (k.to(tl.float32) + 0.5) * (1.0 / 16777216.0)
        series = v * (1.0 + v * (0.5 + v * (0.33333334 + v * (0.25 + v * 0.2))))
        e = tl.where(m < 524288, series, -tl.log(u))
        return -tl.log(e)

    @triton.jit
    def _sample_kernel(logits_ptr, stride, keys_ptr, inv_temp_ptr, tok_ptr, lp_ptr, ent_ptr, sc_ptr,
                       vocab: tl.constexpr, GREEDY: tl.constexpr, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        base = logits_ptr + row.to(tl.int64) * stride
        key = tl.load(keys_ptr + row).to(tl.uint32)
        inv_t = tl.load(inv_temp_ptr).to(tl.float32)
        offs = tl.arange(0, BLOCK)
        m = tl.full([BLOCK], float("-inf"), tl.float32)  # per-lane running max
        s = tl.zeros([BLOCK], tl.float32)  # sum exp(l - m)
        t = tl.zeros([BLOCK], tl.float32)  # sum exp(l - m) * l
        total = tl.zeros([BLOCK], tl.float32)  # sum l
        best = tl.full([BLOCK], float("-inf"), tl.float32)
        best_idx = tl.zeros([BLOCK], tl.int32)
        for start in range(0, vocab, BLOCK):
            idx = start + offs
            valid = idx < vocab
            lv = tl.load(base + idx, mask=valid, other=float("-inf")).to(tl.float32)
            m_new = tl.maximum(m, lv)
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            alpha = tl.exp(m - m_safe)
            e = tl.exp(lv - m_safe)
            s = s * alpha + e
            t = t * alpha + tl.where(valid, e * lv, 0.0)
            total += tl.where(valid, lv, 0.0)
            m = m_new
            if GREEDY:
                score = lv
            else:
                x = _hash32(key + idx.to(tl.uint32) * 0x27D4EB2D)
                score = tl.where(valid, lv * inv_t + _gumbel_noise(x >> 8), float("-inf"))
            better = score > best
            best = tl.where(better, score, best)
            best_idx = tl.where(better, idx, best_idx)
        mx = tl.max(m, axis=0)
        scale = tl.exp(m - mx)
        s_all = tl.sum(s * scale, axis=0)
        t_all = tl.sum(t * scale, axis=0)
        log_z = mx + tl.log(s_all)
        top = tl.max(best, axis=0)
        token = tl.min(tl.where(best == top, best_idx, 2147483647), axis=0)
        chosen = tl.load(base + token).to(tl.float32)
        tl.store(tok_ptr + row, token.to(tl.int64))
        tl.store(lp_ptr + row, chosen - log_z)
        tl.store(ent_ptr + row, log_z - t_all / s_all)
        tl.store(sc_ptr + row, log_z - tl.sum(total, axis=0) / vocab - tl.log(vocab * 1.0))


def sample_triton(logits: torch.Tensor, keys: torch.Tensor, inv_temp: torch.Tensor,
                  greedy: bool) -> tuple[torch.Tensor, ...]:
    """The fused kernel: one program per row, one read of the row (no top-p)."""
    if triton is None:
        raise RuntimeError("Triton is not installed")
    rows, vocab = logits.shape
    if logits.stride(1) != 1:
        logits = logits.contiguous()
    if not isinstance(inv_temp, torch.Tensor):
        inv_temp = torch.tensor(float(inv_temp), device=logits.device)
    dev = logits.device
    token = torch.empty(rows, dtype=torch.int64, device=dev)
    lp, ent, sc = (torch.empty(rows, dtype=torch.float32, device=dev) for _ in range(3))
    _sample_kernel[(rows,)](logits, logits.stride(0), keys, inv_temp, token, lp, ent, sc,
                            vocab=vocab, GREEDY=bool(greedy), BLOCK=2048, num_warps=8)
    return token, lp, ent, sc


# ---- decode attention (opt-in: FastGenerator(attention="triton")) ----------------------------------
# Profiling the SDPA step on an H100 (batch 1024, 320 cache positions) put attention at 64% of the
# step (cuDNN's flash kernel, 180 us a layer for 252 MB of K/V, about half the bandwidth). This kernel
# is one program per (slot, KV head): the GROUP query heads that share the KV head attend together
# (padded to 16 rows for tl.dot), over keys 0..pos[slot] only, so each row reads just its own
# context instead of the whole bucket. Checked against SDPA in Triton's interpreter; not yet timed.

if triton is not None:

    @triton.jit
    def _decode_attn_kernel(q_ptr, k_ptr, v_ptr, pos_ptr, o_ptr, sq_s, sq_h, sk_s, sk_h, sk_l, so_s, so_h, scale,
                            GROUP: tl.constexpr, GP: tl.constexpr, D: tl.constexpr, BLOCK_L: tl.constexpr,
                            IEEE: tl.constexpr):
        s = tl.program_id(0)
        kvh = tl.program_id(1)
        n = tl.load(pos_ptr + s) + 1
        g = tl.arange(0, GP)
        dd = tl.arange(0, D)
        head = kvh * GROUP + g
        qmask = g < GROUP
        q = tl.load(q_ptr + s * sq_s + head[:, None] * sq_h + dd[None, :], mask=qmask[:, None], other=0.0)
        base_k = k_ptr + s.to(tl.int64) * sk_s + kvh * sk_h
        base_v = v_ptr + s.to(tl.int64) * sk_s + kvh * sk_h
        m = tl.full([GP], float("-inf"), tl.float32)
        den = tl.zeros([GP], tl.float32)
        acc = tl.zeros([GP, D], tl.float32)
        start = 0
        while start < n:  # a while loop: Triton's interpreter cannot range() over a loaded bound
            offs = start + tl.arange(0, BLOCK_L)
            km = offs < n
            k = tl.load(base_k + offs[:, None] * sk_l + dd[None, :], mask=km[:, None], other=0.0)
            if IEEE:
                sc = tl.dot(q, tl.trans(k), input_precision="ieee") * scale
            else:
                sc = tl.dot(q, tl.trans(k)) * scale
            sc = tl.where(km[None, :], sc, float("-inf"))
            m_new = tl.maximum(m, tl.max(sc, axis=1))
            alpha = tl.exp(m - m_new)
            p = tl.exp(sc - m_new[:, None])
            den = den * alpha + tl.sum(p, axis=1)
            v = tl.load(base_v + offs[:, None] * sk_l + dd[None, :], mask=km[:, None], other=0.0)
            if IEEE:
                acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision="ieee")
            else:
                acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
            m = m_new
            start += BLOCK_L
        out = acc / den[:, None]
        tl.store(o_ptr + s * so_s + head[:, None] * so_h + dd[None, :], out.to(o_ptr.dtype.element_ty),
                 mask=qmask[:, None])


def decode_attention(q: torch.Tensor, layer_k: torch.Tensor, layer_v: torch.Tensor,
                     pos: torch.Tensor) -> torch.Tensor:
    """Attention of one query per head, q [S, H, D], over cache rows [slots, KV, L, D] at positions
    0..pos[s] of slot s (slots 0..S-1), softmax scale 1/sqrt(D). Returns [S, H, D]."""
    if triton is None:
        raise RuntimeError("Triton is not installed")
    slots, heads, d = q.shape
    kv = layer_k.shape[1]
    if q.stride(2) != 1 or layer_k.stride(3) != 1 or layer_k.stride() != layer_v.stride():
        raise ValueError("decode_attention needs unit stride on the head dimension and K/V laid out alike")
    out = torch.empty((slots, heads, d), dtype=q.dtype, device=q.device)
    group = heads // kv
    _decode_attn_kernel[(slots, kv)](q, layer_k, layer_v, pos, out, q.stride(0), q.stride(1), layer_k.stride(0),
                                     layer_k.stride(1), layer_k.stride(2), out.stride(0), out.stride(1),
                                     1.0 / math.sqrt(d), GROUP=group, GP=max(16, triton.next_power_of_2(group)),
                                     D=d, BLOCK_L=64, IEEE=q.dtype == torch.float32, num_warps=4)
    return out
