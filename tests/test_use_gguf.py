"""GGUF export of a tiny random Llama with a byte-level BPE tokenizer: every tensor and the key metadata
read back with gguf's reader, and a round trip through transformers' GGUF loader gives the same greedy text."""

from pathlib import Path

import numpy as np
import pytest
import torch

from selftaught.core.errors import SelftaughtError
from selftaught.use.gguf_export import export_gguf, unpermute

CORPUS = ["What is 12 + 30? Answer: 42", "Solve the problem step by step, briefly.", "The answer is 7.",
          "Count the letters in strawberry.", "hello world, hello there"] * 4
TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def byte_level_tokenizer():
    """A GPT-2-style byte-level BPE (as SmolLM2's), trained on a few lines: specials 0-2, bytes, merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="<|endoftext|>", chat_template=TEMPLATE)


def tiny_llama(path: Path, tied: bool = False) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = byte_level_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      initializer_range=0.2, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                      tie_word_embeddings=tied, rms_norm_eps=1e-5, rope_theta=50000.0)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tiny_llama(tmp_path_factory.mktemp("gguf") / "model")
    return folder, export_gguf(folder, folder.parent / "model.gguf", outtype="f32")




def test_every_tensor_equals_the_checkpoints(exported):
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM

    folder, path = exported
    state = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).state_dict()
    tensors = {t.name: np.array(t.data) for t in GGUFReader(path).tensors}
    want = {"token_embd.weight": state["model.embed_tokens.weight"], "output_norm.weight": state["model.norm.weight"],
            "output.weight": state["lm_head.weight"]}
    hf = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
          "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
          "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    for i in range(2):
        want.update({f"blk.{i}.{g}.weight": state[f"model.layers.{i}.{h}.weight"] for g, h in hf.items()})
    assert set(tensors) == set(want)
    for name, expected in want.items():
        got = torch.from_numpy(tensors[name])
        if ".attn_q." in name or ".attn_k." in name:
            got = unpermute(got, 4 if ".attn_q." in name else 2)
            assert not torch.equal(torch.from_numpy(tensors[name]), expected)  # it was permuted
        assert torch.equal(got, expected), name


def test_metadata_llama_cpp_reads(exported):
    from gguf import GGUFReader

    folder, path = exported
    reader = GGUFReader(path)
    tok = byte_level_tokenizer()
    get = lambda key: reader.fields[key].contents()  # noqa: E731
    assert get("general.architecture") == "llama"
    assert (get("llama.block_count"), get("llama.context_length"), get("llama.embedding_length"),
            get("llama.feed_forward_length"), get("llama.attention.head_count"),
            get("llama.attention.head_count_kv")) == (2, 256, 32, 64, 4, 2)
    assert get("llama.rope.freq_base") == pytest.approx(50000.0)
    assert get("llama.attention.layer_norm_rms_epsilon") == pytest.approx(1e-5)
    assert get("tokenizer.ggml.model") == "gpt2"
    vocab = {i: t for t, i in tok.get_vocab().items()}
    assert get("tokenizer.ggml.tokens") == [vocab[i] for i in range(len(tok))]
    assert get("tokenizer.ggml.token_type")[:4] == [3, 3, 3, 1]  # specials are control tokens
    assert len(get("tokenizer.ggml.merges")) > 0
    assert (get("tokenizer.ggml.bos_token_id"), get("tokenizer.ggml.eos_token_id")) == (1, 2)
    assert "<|im_start|>" in get("tokenizer.chat_template")


def test_round_trip_through_transformers_gguf_reader_gives_the_same_greedy_text(exported):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, path = exported
    original = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    back = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    tok, tok_back = AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    for text in ["What is 12 + 30?", "hello there", "Count the letters"]:
        ids = tok(text, return_tensors="pt").input_ids
        assert tok_back(text, return_tensors="pt").input_ids.tolist() == ids.tolist()
        a = original.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=0)
        b = back.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=0)
        assert a.tolist() == b.tolist()


def test_tied_embeddings_have_no_output_tensor_and_f16_halves_matrices(tmp_path):
    from gguf import GGMLQuantizationType, GGUFReader

    folder = tiny_llama(tmp_path / "model", tied=True)
    tensors = {t.name: t for t in GGUFReader(export_gguf(folder, tmp_path / "m.gguf", outtype="f16")).tensors}
    assert "output.weight" not in tensors and "token_embd.weight" in tensors
    assert tensors["blk.0.attn_v.weight"].tensor_type == GGMLQuantizationType.F16
    assert tensors["blk.0.attn_norm.weight"].tensor_type == GGMLQuantizationType.F32


def test_other_families_and_tokenizers_are_refused_naming_llama_cpps_converter(tmp_path, tiny_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(SelftaughtError, match="convert_hf_to_gguf"):
        export_gguf(tmp_path / "gpt2", tmp_path / "g.gguf")
    with pytest.raises(SelftaughtError, match="byte-level BPE"):  # conftest's character-level tokenizer
        export_gguf(tiny_path, tmp_path / "t.gguf")
    assert not (tmp_path / "g.gguf").exists()


@pytest.mark.slow
def test_default_model_round_trips_with_the_same_greedy_text(tmp_path):
    """SmolLM2-135M-Instruct (the default model, from the local cache) -> GGUF f32 -> transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from selftaught.models.resolve import DEFAULT_FOLDER, cache_dir

    folder = cache_dir() / "models" / DEFAULT_FOLDER
    if not (folder / "config.json").exists():
        pytest.skip("the default model is not in the local cache")
    path = export_gguf(folder, tmp_path / "model.gguf", outtype="f32")
    from gguf import GGUFReader

    reader = GGUFReader(path)
    assert reader.fields["tokenizer.ggml.pre"].contents() == "smollm"  # digits one by one, as llama.cpp names it
    assert reader.fields["tokenizer.ggml.add_bos_token"].contents() is False
    tok = AutoTokenizer.from_pretrained(folder)
    original = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    back = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=path.name, dtype=torch.float32).eval()
    for question in ["What is 17 + 25?", "Name a prime number larger than 10."]:
        ids = tok.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"]
        a = original.generate(ids, max_new_tokens=12, do_sample=False)
        b = back.generate(ids, max_new_tokens=12, do_sample=False)
        assert a.tolist() == b.tolist()
