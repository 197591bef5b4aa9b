"""The fast backend's own forward pass for Llama-shaped models: Llama (SmolLM2), Mistral, Qwen2, Qwen3,
Phi-3, Gemma 3 (text).

These families share one block: pre-norm RMSNorm, rotary attention with grouped KV heads, a gated MLP.
They differ only in ways the pass covers: q/k/v biases (Qwen2), per-head q/k RMSNorm before rope
(Qwen3, Gemma 3), q/k/v and gate/up already fused in one matrix (Phi-3); Gemma 3's RMSNorm scaling by
(1 + w) in float32, norms after attention and after the MLP too, embeddings scaled by sqrt(hidden),
its own attention scale, and two rope tables (local layers, global layers); a sliding window (Mistral,
Gemma 3's local layers: at lengths inside the window it changes nothing, and `window` lets the
generator check that). `unsupported(model)` names what a model has beyond that (GPT-2's learned
positions, partial rotary, logit soft-capping), so the backend can fall back to `hf`.

`FastWeights.from_hf(model)` takes the weights out of a transformers model (q/k/v fused into one
matrix, gate/up into another, biases where the model has them, lm_head tied or not) and builds the
rotary tables with the model's own rotary module, so rope scaling variants come out as transformers
computes them. The numerics follow transformers' Llama code step by step (RMSNorm in float32 then
cast, rope in the model dtype), so greedy tokens agree with `generate` up to float rounding.
With `matmul_dtype` (bf16 on a float32 model) it holds copies of the matrices in that dtype and
`_linear` casts activations for each matmul and the result back, so everything but the matmuls
stays in the model's dtype.

Two passes over a static KV cache `[layers, slots, kv_heads, max_len, head_dim]`:

- `prefill(ids)`: right-padded prompts [P, T] -> KV [layers, P, kv_heads, T, head_dim] (K and V)
  and the logits at each prompt's last token;
- `decode(cache, tok, pos, length)`: one token per slot at its own position, attention over the
  first `length` cache positions (a bucket, so short sequences read little of the cache). The
  query heads that share a KV head are folded into SDPA's query-length axis: no repeated KV.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..core.errors import SelftaughtError
from .fast_families import (activation, gate_up_mods, kind_of, qkv_mods, rope_kinds, rope_tables, sliding_window,
                            unsupported)
from .fast_kernels import decode_attention


@dataclass
class _Layer:
    ln1: torch.Tensor
    wqkv: torch.Tensor
    bqkv: torch.Tensor | None
    wo: torch.Tensor
    bo: torch.Tensor | None
    ln2: torch.Tensor
    wgu: torch.Tensor
    bgu: torch.Tensor | None
    wdown: torch.Tensor
    bdown: torch.Tensor | None
    qn: torch.Tensor | None = None  # per-head q/k RMSNorm weights [head_dim] (Qwen3, Gemma 3)
    kn: torch.Tensor | None = None
    post_attn: torch.Tensor | None = None  # norms of the attention and MLP outputs (Gemma 3)
    post_mlp: torch.Tensor | None = None
    rope: int = 0  # which rope table (Gemma 3: local or global layer)


def _cat_bias(*mods) -> torch.Tensor | None:
    biases = [m.bias for m in mods]
    if all(b is None for b in biases):
        return None
    return torch.cat([b if b is not None else torch.zeros(m.out_features, dtype=m.weight.dtype,
                                                          device=m.weight.device) for b, m in zip(biases, mods)])


@dataclass
class FastWeights:
    embed: torch.Tensor
    layers: list[_Layer]
    norm: torch.Tensor
    lm_head: torch.Tensor
    cos: torch.Tensor  # [max_positions, head_dim], model dtype
    sin: torch.Tensor
    n_heads: int
    n_kv: int
    head_dim: int
    eps: float
    act: str
    matmul_dtype: torch.dtype | None = None  # None: matmuls in the model dtype; else copies of the matrices
    window: int | None = None  # the model's sliding window: sequences must fit in it (None: any length)
    gemma: bool = False  # Gemma's RMSNorm: (normalised * (1 + w)) in float32, then cast
    embed_scale: torch.Tensor | None = None  # multiplies the embeddings (Gemma: sqrt(hidden))
    scale: float | None = None  # attention softmax scale (None: 1/sqrt(head_dim))

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def vocab(self) -> int:
        return self.lm_head.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.embed.dtype

    @classmethod
    def from_hf(cls, model, max_positions: int = 1, matmul_dtype: torch.dtype | None = None) -> "FastWeights":
        cfg = model.config
        reason = unsupported(model)
        if reason is not None:
            raise SelftaughtError(f"backend fast cannot run this model: {reason}; use backend hf for it.")
        base = model.model
        rope_of = rope_kinds(model)[1]
        gemma = kind_of(model) == "gemma3_text"
        n_heads, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads
        layers = [_layer(blk, rope_of[i], gemma) for i, blk in enumerate(base.layers)]
        cos, sin = rope_tables(model, max_positions)
        lm_head = model.get_output_embeddings().weight.detach()
        if matmul_dtype is not None and matmul_dtype != lm_head.dtype:
            for ly in layers:  # own copies in the matmul dtype (`refresh` keeps them current)
                ly.wqkv, ly.wo, ly.wgu, ly.wdown = (t.to(matmul_dtype) for t in (ly.wqkv, ly.wo, ly.wgu, ly.wdown))
            lm_head = lm_head.to(matmul_dtype)
        else:
            matmul_dtype = None
        return cls(embed=base.embed_tokens.weight.detach(), layers=layers, norm=base.norm.weight.detach(),
                   lm_head=lm_head, cos=cos, sin=sin, n_heads=n_heads, n_kv=n_kv, head_dim=head_dim,
                   eps=float(cfg.rms_norm_eps), act=activation(cfg), matmul_dtype=matmul_dtype,
                   window=sliding_window(cfg), gemma=gemma,
                   embed_scale=_embed_scale(base.embed_tokens) if gemma else None,
                   scale=float(cfg.query_pre_attn_scalar) ** -0.5 if gemma else None)

    def refresh(self, model) -> None:
        """Copy the model's current weights into this object's own copies, in place: the fused q/k/v and
        gate/up matrices, and with `matmul_dtype` also o_proj, down_proj and the LM head (cast).

        The other tensors are views of the parameters and follow them; the copies do not, so a model
        trained in place since `from_hf` (an optimizer step writes into the same storage) would
        otherwise run with old attention and MLP weights and new everything else. In place, so CUDA
        graphs that read these buffers stay valid."""
        with torch.no_grad():
            for ly, blk in zip(self.layers, model.model.layers):
                at, mlp = blk.self_attn, blk.mlp
                qkv, gate_up = qkv_mods(at), gate_up_mods(mlp)
                _cat_into(ly.wqkv, [m.weight for m in qkv])
                _cat_into(ly.wgu, [m.weight for m in gate_up])
                if self.matmul_dtype is not None:
                    ly.wo.copy_(at.o_proj.weight)
                    ly.wdown.copy_(mlp.down_proj.weight)
                if ly.bqkv is not None:
                    ly.bqkv.copy_(_cat_bias(*qkv))
                if ly.bgu is not None:
                    ly.bgu.copy_(_cat_bias(*gate_up))
            if self.matmul_dtype is not None:
                self.lm_head.copy_(model.get_output_embeddings().weight)


def _layer(blk, rope: int, gemma: bool) -> _Layer:
    """One decoder block's weights: views of the parameters, own copies of the fused q/k/v and gate/up
    matrices (`FastWeights.refresh` keeps them current). Gemma norms attention and MLP outputs too."""
    at, mlp = blk.self_attn, blk.mlp
    qkv, gate_up = qkv_mods(at), gate_up_mods(mlp)
    q_norm, k_norm = getattr(at, "q_norm", None), getattr(at, "k_norm", None)
    return _Layer(
        ln1=blk.input_layernorm.weight.detach(),
        wqkv=torch.cat([m.weight for m in qkv]).detach(), bqkv=_detach(_cat_bias(*qkv)),
        wo=at.o_proj.weight.detach(), bo=_detach(at.o_proj.bias),
        ln2=(blk.pre_feedforward_layernorm if gemma else blk.post_attention_layernorm).weight.detach(),
        wgu=torch.cat([m.weight for m in gate_up]).detach(), bgu=_detach(_cat_bias(*gate_up)),
        wdown=mlp.down_proj.weight.detach(), bdown=_detach(mlp.down_proj.bias),
        qn=None if q_norm is None else q_norm.weight.detach(),
        kn=None if k_norm is None else k_norm.weight.detach(),
        post_attn=blk.post_attention_layernorm.weight.detach() if gemma else None,
        post_mlp=blk.post_feedforward_layernorm.weight.detach() if gemma else None, rope=rope)


def _cat_into(out: torch.Tensor, parts: list[torch.Tensor]) -> None:
    """torch.cat(parts) written into `out`: directly when the dtypes match, else through a cast copy."""
    if out.dtype == parts[0].dtype:
        torch.cat(parts, out=out)
    else:
        out.copy_(torch.cat(parts))


def _embed_scale(embed) -> torch.Tensor:
    """Gemma's embedding multiplier (sqrt(hidden)), in the embeddings' dtype as transformers applies it."""
    return embed.embed_scale.to(embed.weight.dtype).detach().clone()


def _detach(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach()


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """transformers' LlamaRMSNorm: normalise in float32, cast back, then scale in the model dtype."""
    h = F.rms_norm(x.float(), (x.shape[-1],), eps=eps)
    return weight * h.to(x.dtype)


def gemma_rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """transformers' Gemma3RMSNorm: normalise and scale by (1 + w), both in float32, then cast back."""
    return (F.rms_norm(x.float(), (x.shape[-1],), eps=eps) * (1.0 + weight.float())).to(x.dtype)


def _norm(w: "FastWeights", x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return gemma_rms_norm(x, weight, w.eps) if w.gemma else rms_norm(x, weight, w.eps)


def _embed(w: "FastWeights", ids: torch.Tensor) -> torch.Tensor:
    x = w.embed[ids]
    return x if w.embed_scale is None else x * w.embed_scale


def _attn_out(w: "FastWeights", ly: _Layer, x: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
    """The residual stream after attention: x + o_proj(o) (normed first where the model norms it)."""
    out = _linear(o, ly.wo, ly.bo)
    return x + (out if ly.post_attn is None else _norm(w, out, ly.post_attn))


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def _act(x: torch.Tensor, name: str) -> torch.Tensor:
    if name == "silu":
        return F.silu(x)
    return F.gelu(x, approximate="tanh" if name == "gelu_pytorch_tanh" else "none")


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear; with a weight in a narrower matmul dtype, x is cast for the matmul and the result back."""
    if weight.dtype == x.dtype:
        return F.linear(x, weight, bias)
    out = F.linear(x.to(weight.dtype), weight).to(x.dtype)
    return out if bias is None else out + bias


def _mlp(w: FastWeights, ly: _Layer, x: torch.Tensor) -> torch.Tensor:
    gate, up = _linear(_norm(w, x, ly.ln2), ly.wgu, ly.bgu).chunk(2, dim=-1)
    out = _linear(_act(gate, w.act) * up, ly.wdown, ly.bdown)
    return x + (out if ly.post_mlp is None else _norm(w, out, ly.post_mlp))


def _logits(w: FastWeights, x: torch.Tensor) -> torch.Tensor:
    return _linear(_norm(w, x, w.norm), w.lm_head)


def prefill(w: FastWeights, ids: torch.Tensor, lens: torch.Tensor,
            prefix: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, ...]:
    """(k [layers, P, kv, T, d], v [same], last-token logits [P, V]) for right-padded ids [P, T].

    `prefix`: (k, v) [layers, kv, P0, d] of tokens that precede every row: the rows continue it at
    positions P0.. and attend to all of it (`lens` then count the prefix too)."""
    p_count, t_len = ids.shape
    h_dim, kv, d = w.n_heads, w.n_kv, w.head_dim
    start = 0 if prefix is None else prefix[0].shape[2]
    cos, sin = w.cos[:, start:start + t_len][:, None, None], w.sin[:, start:start + t_len][:, None, None]
    ks = torch.empty((w.n_layers, p_count, kv, t_len, d), dtype=w.dtype, device=ids.device)
    vs = torch.empty_like(ks)
    if prefix is not None:  # row token t sees the prefix and its own tokens 0..t
        mask = torch.ones((t_len, start + t_len), dtype=torch.bool, device=ids.device).tril(diagonal=start)
    x = _embed(w, ids)
    for i, ly in enumerate(w.layers):
        qkv = _linear(_norm(w, x, ly.ln1), ly.wqkv, ly.bqkv)
        q, k, v = qkv.view(p_count, t_len, h_dim + 2 * kv, d).transpose(1, 2).split([h_dim, kv, kv], dim=1)
        if ly.qn is not None:
            q, k = _norm(w, q, ly.qn), _norm(w, k, ly.kn)
        q, k = _rope(q, cos[ly.rope], sin[ly.rope]), _rope(k, cos[ly.rope], sin[ly.rope])
        ks[i], vs[i] = k, v
        if prefix is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kv != h_dim, scale=w.scale)
        else:
            shape = (p_count, kv, start, d)
            k = torch.cat([prefix[0][i][None].expand(shape), k], dim=2)
            v = torch.cat([prefix[1][i][None].expand(shape), v], dim=2)
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=kv != h_dim, scale=w.scale)
        x = _attn_out(w, ly, x, o.transpose(1, 2).reshape(p_count, t_len, h_dim * d))
        x = _mlp(w, ly, x)
    last = x[torch.arange(p_count, device=ids.device), lens - 1]
    return ks, vs, _logits(w, last)


def decode(w: FastWeights, cache_k: torch.Tensor, cache_v: torch.Tensor, tok: torch.Tensor, pos: torch.Tensor,
           length: int, attention: str = "sdpa",
           prefix: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Logits [S, V] for one new token per slot; writes its K/V at `pos` into slots 0..S-1 of the cache.

    Slot s attends to cache positions 0..pos[s] (all below `length`); fixed shapes, so it can be
    captured in a CUDA graph. `attention`: `sdpa` (torch, masked over `length` positions) or
    `triton` (`fast_kernels.decode_attention`, reads 0..pos[s] only). `prefix`: (k, v)
    [layers, kv, P0, d] of positions 0..P0-1, the same in every slot: attention reads them once for
    all slots (one matmul) and only positions P0..length-1 from each slot's cache (`_split_attention`)."""
    slots = tok.shape[0]
    h_dim, kv, d = w.n_heads, w.n_kv, w.head_dim
    group = h_dim // kv
    rows = torch.arange(slots, device=tok.device)
    cos, sin = w.cos[:, pos][:, :, None], w.sin[:, pos][:, :, None]
    start = 0 if prefix is None else prefix[0].shape[2]
    if attention == "sdpa":
        visible = torch.arange(start, length, device=tok.device)[None] <= pos[:, None]
        mask = torch.zeros(visible.shape, dtype=torch.float32 if prefix is not None else w.dtype,
                           device=tok.device).masked_fill_(~visible, float("-inf"))
        mask = mask[:, None, None]  # [S, 1, 1, L - P0], additive, built once for all layers
    x = _embed(w, tok)
    for i, ly in enumerate(w.layers):
        qkv = _linear(_norm(w, x, ly.ln1), ly.wqkv, ly.bqkv).view(slots, h_dim + 2 * kv, d)
        qk = qkv[:, :h_dim + kv]
        if ly.qn is not None:
            qk = torch.cat([_norm(w, qk[:, :h_dim], ly.qn), _norm(w, qk[:, h_dim:], ly.kn)], dim=1)
        qk = _rope(qk, cos[ly.rope], sin[ly.rope])
        q, k, v = qk[:, :h_dim], qk[:, h_dim:], qkv[:, h_dim + kv:]
        layer_k, layer_v = cache_k[i], cache_v[i]
        layer_k[rows, :, pos] = k
        layer_v[rows, :, pos] = v
        if attention == "triton":
            o = decode_attention(q, layer_k, layer_v, pos)
        elif prefix is not None:
            o = _split_attention(q.reshape(slots, kv, group, d), prefix[0][i], prefix[1][i],
                                 layer_k[:slots, :, start:length], layer_v[:slots, :, start:length], mask, w.scale)
        else:
            o = F.scaled_dot_product_attention(q.reshape(slots, kv, group, d), layer_k[:slots, :, :length],
                                               layer_v[:slots, :, :length], attn_mask=mask, scale=w.scale)
        x = _attn_out(w, ly, x, o.reshape(slots, h_dim * d))
        x = _mlp(w, ly, x)
    return _logits(w, x)


def _split_attention(q: torch.Tensor, pk: torch.Tensor, pv: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """Softmax attention of q [S, kv, G, d] over a shared prefix pk/pv [kv, P0, d] followed by each
    slot's own k/v [S, kv, L, d] (additive float32 `mask` [S, 1, 1, L]); scores and softmax in float32."""
    slots, kv, group, d = q.shape
    scale = d ** -0.5 if scale is None else scale
    qf = q.float()
    flat = qf.transpose(0, 1).reshape(kv, slots * group, d)  # every slot's queries against one prefix
    pre = torch.matmul(flat, pk.float().transpose(1, 2)).view(kv, slots, group, -1).transpose(0, 1) * scale
    own = torch.matmul(qf, k.float().transpose(2, 3)) * scale + mask
    probs = torch.softmax(torch.cat([pre, own], dim=-1), dim=-1)
    p_pre, p_own = probs.split([pk.shape[1], k.shape[2]], dim=-1)
    out = torch.matmul(p_pre.transpose(0, 1).reshape(kv, slots * group, -1), pv.float())
    out = out.view(kv, slots, group, d).transpose(0, 1) + torch.matmul(p_own, v.float())
    return out.to(q.dtype)
