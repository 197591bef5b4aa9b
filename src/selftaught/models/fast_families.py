"""Which models the fast backend's forward pass covers, and how to read their blocks.

The fast pass (`fast_model`) runs Llama-shaped decoders. `unsupported(model)` says why a model is
not one (the backend then falls back to `hf`); the helpers below find a block's q/k/v and gate/up
projections (separate or already fused), the model's activation, its sliding window, and its rope
tables, computed by the model's own rotary module so rope scaling variants come out as transformers
computes them.
"""

from __future__ import annotations

import torch

SUPPORTED = ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma3_text")
_ACTIVATIONS = ("silu", "gelu", "gelu_pytorch_tanh")


def qkv_mods(attn) -> list:
    return [attn.qkv_proj] if hasattr(attn, "qkv_proj") else [attn.q_proj, attn.k_proj, attn.v_proj]


def gate_up_mods(mlp) -> list:
    return [mlp.gate_up_proj] if hasattr(mlp, "gate_up_proj") else [mlp.gate_proj, mlp.up_proj]


def activation(cfg) -> str | None:
    return getattr(cfg, "hidden_activation", None) or getattr(cfg, "hidden_act", None)


def sliding_window(cfg) -> int | None:
    """The attention window the model applies (None: full attention at every length)."""
    window = getattr(cfg, "sliding_window", None)
    if getattr(cfg, "model_type", "") in ("qwen2", "qwen3") and not getattr(cfg, "use_sliding_window", False):
        return None
    return int(window) if window else None


def unsupported(model) -> str | None:
    """Why the fast forward pass cannot run `model` (None: it can)."""
    cfg = model.config
    kind = getattr(cfg, "model_type", "?")
    if kind not in SUPPORTED:
        return f"model_type {kind!r} is not one of the families it covers ({', '.join(SUPPORTED)})"
    if activation(cfg) not in _ACTIVATIONS:
        return f"activation {activation(cfg)!r} is not one of {', '.join(_ACTIVATIONS)}"
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "attn_logit_softcapping", None):
        return "logit soft-capping"
    if getattr(cfg, "use_bidirectional_attention", False):
        return "bidirectional attention"
    n_heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads
    cos, _ = rope_tables(model, 1)
    if cos.shape[-1] != head_dim:
        return f"rope covers {cos.shape[-1]} of {head_dim} head dimensions (partial rotary)"
    return None


def kind_of(model) -> str:
    return str(getattr(model.config, "model_type", "?"))


def rope_kinds(model) -> tuple[list[str | None], list[int]]:
    """(the rope variants of a model's rotary module, each layer's index into them): Gemma 3's module
    computes one table per layer type (local, global); other models have one table (`None`)."""
    types = getattr(model.config, "layer_types", None)
    rotary = model.model.rotary_emb
    if types and all(hasattr(rotary, f"{t}_inv_freq") for t in types):
        kinds = sorted(set(types))
        return list(kinds), [kinds.index(t) for t in types]
    return [None], [0] * len(model.model.layers)


def rope_tables(model, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) [tables, positions, head_dim] in the model dtype, from the model's own rotary module
    (one table per rope variant, `_rope_kinds`)."""
    embed = model.model.embed_tokens.weight
    pos = torch.arange(positions, device=embed.device)[None]
    x = embed[:1, None].detach()
    with torch.no_grad():
        pairs = [model.model.rotary_emb(x, pos) if kind is None else model.model.rotary_emb(x, pos, kind)
                 for kind in rope_kinds(model)[0]]
    return torch.stack([c[0] for c, _ in pairs]), torch.stack([s_[0] for _, s_ in pairs])
