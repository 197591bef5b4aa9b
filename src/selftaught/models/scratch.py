"""A small Llama-shaped transformer built from a config (no pretrained weights), with a character tokenizer.

For training from scratch, as Lee et al. 2025 do for length generalization on reversed addition: one
token per character, no positional encoding (NoPE). transformers' Llama always applies RoPE, so the
NoPE model is a SmolLM3 (`positions: nope`): the Llama block (RMSNorm, grouped-query attention, SwiGLU
MLP) with transformers' own per-layer switch `no_rope_layers`, set to 0 in every layer, so no layer
rotates its queries and keys; causal attention alone carries order. `positions: rope` builds a plain
`LlamaForCausalLM`. Either way the folder `save_scratch` writes is an ordinary model folder (config,
safetensors, `PreTrainedTokenizerFast` files) that AutoModelForCausalLM / AutoTokenizer, every backend
and every trainer of this project load; it has no chat template (recipes use `prompt.format: plain`).

The tokenizer is built with `tokenizers` (a WordLevel model over single characters: every printable
ASCII character and newline, plus `<pad>`, `<eos>`, `<unk>`), so any text the project renders encodes,
and decoding joins characters without spaces.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

import torch

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
CHARACTERS = "\n" + "".join(c for c in string.printable if c.isprintable())  # newline + 95 printable ASCII

__all__ = ["CHARACTERS", "char_tokenizer", "build_scratch_model", "save_scratch", "scratch_config"]


def char_tokenizer():
    """A PreTrainedTokenizerFast with one token per character (ids: pad 0, eos 1, unk 2, then CHARACTERS).

    >>> tok = char_tokenizer()
    >>> ids = tok("321+654=")["input_ids"]; len(ids), tok.decode(ids + [tok.eos_token_id], skip_special_tokens=True)
    (8, '321+654=')
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {PAD: 0, EOS: 1, UNK: 2}
    for c in CHARACTERS:
        vocab.setdefault(c, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every character alone
    core.decoder = decoders.Fuse()  # join tokens with no separator
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   padding_side="left", model_max_length=4096)


def scratch_config(vocab_size: int, layers: int = 2, hidden_size: int = 128, heads: int = 4,
                   intermediate_size: int | None = None, positions: Literal["nope", "rope"] = "nope",
                   max_positions: int = 256, rope_theta: float = 10000.0, eos_id: int = 1, pad_id: int = 0):
    """The model config: SmolLM3Config with NoPE in every layer (`nope`), or LlamaConfig (`rope`)."""
    from transformers import LlamaConfig, SmolLM3Config

    if positions not in ("nope", "rope"):
        raise ValueError(f"positions must be `nope` or `rope`, got {positions!r}")
    shape: dict[str, Any] = dict(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size or 4 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True, eos_token_id=eos_id,
        pad_token_id=pad_id, bos_token_id=None, attention_bias=False, hidden_act="silu")
    if positions == "rope":
        return LlamaConfig(**shape, rope_parameters={"rope_type": "default", "rope_theta": rope_theta})
    return SmolLM3Config(**shape, no_rope_layers=[0] * layers, use_sliding_window=False,
                         rope_parameters={"rope_type": "default", "rope_theta": rope_theta})


def build_scratch_model(layers: int = 2, hidden_size: int = 128, heads: int = 4, intermediate_size: int | None = None,
                        positions: Literal["nope", "rope"] = "nope", max_positions: int = 256, seed: int = 0):
    """(model, tokenizer): freshly initialised weights (seeded), float32, with the character tokenizer."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    if hidden_size % heads:
        raise ValueError(f"hidden_size {hidden_size} is not divisible by heads {heads}")
    tokenizer = char_tokenizer()
    cfg = scratch_config(len(tokenizer), layers, hidden_size, heads, intermediate_size, positions, max_positions,
                         eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    return model, tokenizer


def save_scratch(model, tokenizer, folder: str | Path) -> str:
    """Save model and tokenizer into `folder` (save_pretrained); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
