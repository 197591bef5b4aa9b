"""Shared test fixtures: a tiny random Llama and a character-level tokenizer, built without a network.

`tiny_model_and_tokenizer` gives a fresh (model, tokenizer) per test; `make_tiny_llama(path)` saves
one with `save_pretrained` and returns the folder, for code that loads models by path.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
import torch

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:  # tests run from a checkout without `pip install -e .`
    sys.path.insert(0, str(SRC))

# Tiny models gain nothing from threads, and on a shared CPU extra OpenMP threads spin and crawl.
torch.set_num_threads(1)

SPECIAL_TOKENS = ["<pad>", "<|im_start|>", "<|im_end|>", "<unk>"]
CHARS = [c for c in string.printable if c not in "\r\x0b\x0c"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tiny_tokenizer():
    """A character-level fast tokenizer (~100 tokens): pad 0, <|im_start|> 1, <|im_end|> (EOS) 2."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + CHARS)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.add_special_tokens(SPECIAL_TOKENS)
    backend.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<pad>", unk_token="<unk>", chat_template=CHAT_TEMPLATE)
    tok.padding_side = "left"
    return tok


def make_tiny_model(vocab_size: int, seed: int = 0, init_range: float = 0.2):
    """A random 2-layer Llama (hidden 32); `init_range` 0.2 makes its distributions clearly peaked."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      initializer_range=init_range, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                      tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 0
    return model


def tiny_model_and_tokenizer_pair(seed: int = 0):
    tok = make_tiny_tokenizer()
    return make_tiny_model(len(tok), seed=seed), tok


def make_tiny_llama(path: str | Path, seed: int = 0) -> str:
    """Save a tiny model and its tokenizer to `path` (created if needed); return the folder."""
    path = Path(path)
    model, tok = tiny_model_and_tokenizer_pair(seed)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture
def tiny_model_and_tokenizer():
    """(model, tokenizer): a fresh tiny random Llama in eval mode and its char-level tokenizer."""
    return tiny_model_and_tokenizer_pair()


@pytest.fixture
def tiny_model_dir(tmp_path):
    """A folder holding a saved tiny Llama and tokenizer."""
    return make_tiny_llama(tmp_path / "tiny-llama")


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    """A tiny random Llama saved once per test module (for code that loads models by path)."""
    return make_tiny_llama(tmp_path_factory.mktemp("tiny"))


def loop_config(tiny_path, *sets: str):
    """A loop config on the tiny model and loop_task's even-length task, small and fast; `sets` override."""
    from selftaught.core.config import load_config

    return load_config(None, [
        "task.callable=loop_task:make_task", f"model={tiny_path}", "device=cpu", "task.n_train=6",
        "task.n_eval=4", "sampling.n=3", "sampling.max_new_tokens=6", "eval.max_new_tokens=6",
        "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=4", "train.learning_rate=1e-3",
        "loop.rounds=2", *sets])
