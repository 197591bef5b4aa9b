"""Tiny random causal LMs of several families (Llama, Qwen2, Qwen3, Mistral, Phi-3, Gemma 3, GPT-2),
built without a network, for the tests of architectures other than Llama and of base models."""

from __future__ import annotations

from pathlib import Path

import torch

FAMILIES = ("llama", "qwen2", "qwen3", "mistral", "phi3", "gemma3_text", "gpt2")


def tiny_family(kind: str, vocab_size: int, seed: int = 0, eos: int = 2, pad: int = 0, bos: int = 1):
    """A random 2-layer model of `kind` (hidden 64), in eval mode, with sharpened embeddings so greedy
    choices are not near-ties."""
    import transformers as tf

    ids = dict(vocab_size=vocab_size, eos_token_id=eos, pad_token_id=pad, bos_token_id=bos)
    common = dict(ids, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False)
    torch.manual_seed(seed)
    if kind == "gpt2":
        model = tf.GPT2LMHeadModel(tf.GPT2Config(n_embd=64, n_layer=2, n_head=4, **ids))
    elif kind == "gemma3_text":
        model = tf.Gemma3ForCausalLM(tf.Gemma3TextConfig(  # one local (sliding) and one global layer
            **common, head_dim=16, sliding_window=512, query_pre_attn_scalar=24,
            layer_types=["sliding_attention", "full_attention"]))
    else:
        config_cls, model_cls = {"llama": (tf.LlamaConfig, tf.LlamaForCausalLM),
                                 "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM),
                                 "qwen3": (tf.Qwen3Config, tf.Qwen3ForCausalLM),
                                 "mistral": (tf.MistralConfig, tf.MistralForCausalLM),
                                 "phi3": (tf.Phi3Config, tf.Phi3ForCausalLM)}[kind]
        extra = {"head_dim": 16} if kind == "qwen3" else {}
        model = model_cls(config_cls(**common, **extra))
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(3)
        if kind == "qwen2":  # random q/k/v biases, so the test sees whether they are applied
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0, 0.5)
        if kind in ("qwen3", "gemma3_text"):  # norm weights away from their init, so the test sees them
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.uniform_(-0.5, 0.5) if kind == "gemma3_text" else p.uniform_(0.5, 1.5)
        if kind == "qwen3":
            for layer in model.model.layers:
                layer.self_attn.q_norm.weight.uniform_(0.5, 1.5)
                layer.self_attn.k_norm.weight.uniform_(0.5, 1.5)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    return model.eval()


def save_tiny_family(path: str | Path, kind: str, chat_template: bool = True, seed: int = 0) -> str:
    """Save a tiny `kind` model with the char-level test tokenizer (without a chat template when
    `chat_template` is False: a base model) to `path`; return the folder."""
    from conftest import make_tiny_tokenizer

    tok = make_tiny_tokenizer()
    if not chat_template:
        tok.chat_template = None
    model = tiny_family(kind, len(tok), seed=seed)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
