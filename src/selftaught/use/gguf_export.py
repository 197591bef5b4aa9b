"""A Llama-family checkpoint as one GGUF file for llama.cpp (`llama-server -m model.gguf`) and ollama.

Written with the `gguf` package in the layout llama.cpp's own `convert_hf_to_gguf.py` writes for the
`llama` architecture: hyper-parameters under `llama.*`, the tokenizer under `tokenizer.ggml.*` (a
byte-level BPE tokenizer, as SmolLM2 and Llama 3 have: tokens, token types, merges, special ids, chat
template), and tensors named `token_embd`, `blk.N.attn_q`, ..., `output_norm`, `output` (omitted when
the embeddings are tied). llama.cpp applies rotary embeddings to interleaved pairs where transformers
rotates the two halves of each head, so q and k are permuted (`permute`; `unpermute` is its inverse,
which transformers' GGUF reader applies when loading). Hand-written rather than calling llama.cpp's
converter because that script ships with llama.cpp's sources, not with the `gguf` package; other
families get an error pointing at it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..core.errors import SelftaughtError

OUTTYPES = ("f32", "f16", "bf16")
CONVERTER = ("llama.cpp's own converter: `python convert_hf_to_gguf.py MODEL_DIR --outfile model.gguf` "
             "from a llama.cpp checkout (https://github.com/ggml-org/llama.cpp)")
# HF per-layer weight -> llama.cpp tensor (gguf.constants.TENSOR_NAMES of the llama architecture)
LAYER_TENSORS = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
                 "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def permute(weight: torch.Tensor, n_head: int) -> torch.Tensor:
    """q/k rows from transformers' rotate-half order to llama.cpp's interleaved pairs (convert_hf_to_gguf's
    `permute`). `unpermute` undoes it.

    >>> w = torch.arange(8.).reshape(8, 1)
    >>> permute(w, 1).flatten().tolist()
    [0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]
    >>> torch.equal(unpermute(permute(w, 2), 2), w)
    True
    """
    return weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(
        weight.shape)


def unpermute(weight: torch.Tensor, n_head: int) -> torch.Tensor:
    """The inverse of `permute`: llama.cpp's interleaved q/k rows back to transformers' order."""
    return weight.reshape(n_head, weight.shape[0] // n_head // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(
        weight.shape)


def gguf_tensors(state: dict[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under llama.cpp's names, q/k permuted, `output` dropped when tied."""
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    out = {"token_embd.weight": state["model.embed_tokens.weight"], "output_norm.weight": state["model.norm.weight"]}
    if not config.tie_word_embeddings:
        out["output.weight"] = state["lm_head.weight"]
    for i in range(config.num_hidden_layers):
        for hf, name in LAYER_TENSORS.items():
            w = state[f"model.layers.{i}.{hf}.weight"]
            if name == "attn_q":
                w = permute(w, n_head)
            elif name == "attn_k":
                w = permute(w, n_kv)
            out[f"blk.{i}.{name}.weight"] = w
    return out


def check_llama(config) -> None:
    """A SelftaughtError unless the checkpoint is a plain Llama that this writer covers."""
    if getattr(config, "model_type", None) != "llama":
        raise SelftaughtError(f"--gguf writes Llama-family models (SmolLM2, Llama); this checkpoint is "
                              f"`{getattr(config, 'model_type', '?')}`. Convert it with {CONVERTER}.")
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") != "default" or getattr(config, "attention_bias", False) \
            or getattr(config, "mlp_bias", False):
        raise SelftaughtError(f"--gguf: this Llama uses rope scaling `{rope.get('rope_type')}` or biases, which this "
                              f"writer does not cover. Convert it with {CONVERTER}.")


def rope_theta(config) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0)


def add_hparams(writer, config, name: str) -> None:
    """The `general.*` and `llama.*` keys llama.cpp reads for the llama architecture."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(rope_theta(config))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_vocab_size(config.vocab_size)


def add_tokenizer(writer, model_dir: Path, vocab_size: int) -> None:
    """`tokenizer.ggml.*`: a byte-level BPE vocabulary as llama.cpp's `gpt2` tokenizer model reads it."""
    import gguf
    from transformers import AutoTokenizer

    spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8")) if (
        model_dir / "tokenizer.json").exists() else {}
    if (spec.get("model") or {}).get("type") != "BPE" or "ByteLevel" not in json.dumps(spec.get("pre_tokenizer")):
        raise SelftaughtError(f"--gguf writes byte-level BPE tokenizers (SmolLM2, Llama 3, GPT-2 style); this "
                              f"tokenizer is not one. Convert the model with {CONVERTER}.")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    reverse = {i: t for t, i in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=vocab_size)
    if special.chat_template is None and getattr(tokenizer, "chat_template", None):
        special.chat_template = tokenizer.chat_template
    special.add_special_token.setdefault("bos", _adds_bos(tokenizer))
    special.add_to_gguf(writer, quiet=True)


def _pre_tokenizer(tokenizer) -> str:
    """llama.cpp's name for how the tokenizer splits text before BPE: `smollm` (every digit alone, then GPT-2's
    byte-level regex) when it encodes `1234567890` as ten tokens, else `gpt2` (the regex alone). Decided by
    behaviour, since llama.cpp's converter recognises tokenizers by a hash of their output on a test text."""
    ids = tokenizer("1234567890", add_special_tokens=False)["input_ids"]
    return "smollm" if len(ids) == 10 else "gpt2"


def _adds_bos(tokenizer) -> bool:
    """Whether the tokenizer puts its BOS token before a text (llama.cpp's `add_bos_token`)."""
    ids = tokenizer("a")["input_ids"]
    return tokenizer.bos_token_id is not None and bool(ids) and ids[0] == tokenizer.bos_token_id


def export_gguf(model_dir: str | Path, out_path: str | Path, outtype: str = "f16") -> Path:
    """Write `model_dir` (a `save_pretrained` Llama folder) as the GGUF file `out_path`; 1-D tensors stay f32."""
    import gguf
    from transformers import AutoConfig, AutoModelForCausalLM

    if outtype not in OUTTYPES:
        raise SelftaughtError(f"--outtype must be one of {', '.join(OUTTYPES)}, got {outtype!r}.")
    model_dir, out_path = Path(model_dir), Path(out_path)
    config = AutoConfig.from_pretrained(str(model_dir))
    check_llama(config)
    state = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).state_dict()
    writer = gguf.GGUFWriter(str(out_path.with_name(out_path.name + ".tmp")), "llama")
    add_hparams(writer, config, model_dir.parent.name if model_dir.name == "model" else model_dir.name)
    writer.add_file_type({"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                          "bf16": gguf.LlamaFileType.MOSTLY_BF16}[outtype])
    add_tokenizer(writer, model_dir, config.vocab_size)
    for name, tensor in gguf_tensors(state, config).items():
        _add_tensor(writer, name, tensor.float().numpy(), outtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    out_path.with_name(out_path.name + ".tmp").replace(out_path)
    return out_path


def _add_tensor(writer, name: str, data: np.ndarray, outtype: str) -> None:
    import gguf

    if data.ndim == 1 or outtype == "f32":
        writer.add_tensor(name, data.astype(np.float32))
    elif outtype == "f16":
        writer.add_tensor(name, data.astype(np.float16))
    else:
        raw = gguf.quants.quantize(data, gguf.GGMLQuantizationType.BF16)
        writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)
