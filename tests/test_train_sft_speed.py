"""SFT speed options (train.padding_free / packing / bf16): padding-free batches train exactly like padded ones.

Padding-free concatenates a batch's records into one row whose `position_ids` restart at every record;
transformers turns those into a block-diagonal causal mask (sdpa, eager). If records could attend
across their boundaries the loss would change: the control test below removes that mask and checks
that the comparison then fails, so the equality tests can fail.
"""

import random
from contextlib import nullcontext

import pytest
import torch

from selftaught.core.config import TrainConfig, load_config
from selftaught.core.errors import ConfigError
from selftaught.train.common import use_bf16
from selftaught.train.sft import sft_args, sft_trainer, train_sft, use_padding_free


def records(n=12, seed=0):
    """Prompt/completion records of clearly different lengths (so a padded batch has padding)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        filler = " ".join(rng.choice(["so", "then", "and", "now"]) for _ in range(rng.randint(0, 12)))
        out.append({"prompt": [{"role": "user", "content": f"{filler} What is {a}+{b}?"}],
                    "completion": [{"role": "assistant", "content": f"{a}+{b}={a + b}. Answer: {a + b}"}]})
    return out


def cfg(**kw):
    return TrainConfig(**{"epochs": 2, "batch_size": 4, "learning_rate": 1e-3, **kw})


def train_losses(attn, tmp_path, data=None, **kw):
    """Per-step losses and final weights of a fresh tiny model trained with TrainConfig(**kw)."""
    from conftest import tiny_model_and_tokenizer_pair

    model, tok = tiny_model_and_tokenizer_pair(0)
    model.set_attn_implementation(attn)
    trainer = sft_trainer(model, tok, data or records(), cfg(**kw), "cpu", 0, str(tmp_path))
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}, trainer


def max_weight_diff(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padding_free_trains_like_padded_batches(attn, tmp_path):
    padded, w_padded, t_padded = train_losses(attn, tmp_path, padding_free=False)
    free, w_free, t_free = train_losses(attn, tmp_path, padding_free=True)
    # the padding-free trainer really sends one unpadded row with restarting positions, no attention mask
    batch = t_free.data_collator([t_free.train_dataset[i] for i in range(4)])
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1
    assert (batch["position_ids"] == 0).sum() == 4
    assert "attention_mask" in t_padded.data_collator([t_padded.train_dataset[i] for i in range(4)])
    assert len(padded) == len(free) == 6
    assert free == pytest.approx(padded, rel=1e-4, abs=1e-4)
    assert max_weight_diff(w_padded, w_free) < 1e-4


def test_control_records_attending_across_boundaries_change_the_loss(tmp_path, monkeypatch):
    """Without the block-diagonal mask (as a kernel ignoring position_ids would) the losses differ."""
    import transformers.masking_utils as mu

    padded, _, _ = train_losses("sdpa", tmp_path, padding_free=False)
    monkeypatch.setattr(mu, "find_packed_sequence_indices", lambda position_ids: None)
    leaking, _, _ = train_losses("sdpa", tmp_path, padding_free=True)
    assert max(abs(a - b) for a, b in zip(padded, leaking)) > 1e-3


def test_padding_free_truncates_to_max_length_like_trl(tmp_path):
    """TRL truncates padded records itself; padding-free ones are truncated by sft_trainer, the same way."""
    data = records(8)
    padded, w_padded, t_padded = train_losses("sdpa", tmp_path, data, padding_free=False, max_length=40)
    free, w_free, t_free = train_losses("sdpa", tmp_path, data, padding_free=True, max_length=40)
    assert t_free.args.max_length is None  # TRL refuses max_length with padding-free batches unless packing
    lengths = [len(ids) for ids in t_free.train_dataset["input_ids"]]
    assert max(lengths) == 40 and lengths == [len(ids) for ids in t_padded.train_dataset["input_ids"]]
    assert free == pytest.approx(padded, rel=1e-4, abs=1e-4)


def test_fully_truncated_completions_are_dropped(tmp_path):
    data = records(8)
    data[0]["prompt"][0]["content"] = "x" * 200  # the prompt alone fills max_length
    _, _, t_padded = train_losses("sdpa", tmp_path, data, padding_free=False, max_length=150)
    _, _, t_free = train_losses("sdpa", tmp_path, data, padding_free=True, max_length=150)
    assert len(t_free.train_dataset) == len(t_padded.train_dataset) == 7


def test_train_sft_counts_the_same_tokens(tiny_model_and_tokenizer, tmp_path):
    from conftest import tiny_model_and_tokenizer_pair

    results = {}
    for free in (False, True):
        model, tok = tiny_model_and_tokenizer_pair(0)
        _, results[free] = train_sft(model, tok, records(), cfg(padding_free=free), "cpu", 0)
    assert results[True].tokens == results[False].tokens > 0
    assert results[True].losses == pytest.approx(results[False].losses, rel=1e-4, abs=1e-4)


def test_packing_packs_rows_of_max_length(tmp_path):
    _, _, trainer = train_losses("sdpa", tmp_path, packing=True, max_length=128)
    assert trainer.args.packing and trainer.args.max_length == 128
    assert len(trainer.train_dataset) < 12  # several records share a row
    assert max(len(ids) for ids in trainer.train_dataset["input_ids"]) <= 128


def test_sft_args_follow_the_config():
    # None: padding-free only where a flash-attention kernel skips the padding (sdpa/eager: a whole-row mask)
    assert not use_padding_free(cfg(), "sdpa") and not use_padding_free(cfg(), "eager")
    assert use_padding_free(cfg(), "flash_attention_2") and use_padding_free(cfg(), "kernels-community/flash-attn2")
    assert use_padding_free(cfg(padding_free=True), "sdpa") and not use_padding_free(cfg(padding_free=False),
                                                                                    "flash_attention_2")
    args = sft_args(cfg(), "cpu", 0, "/tmp/x", "sdpa")
    assert not args.padding_free and args.max_length == 512 and args.include_num_input_tokens_seen == "non_padding"
    args = sft_args(cfg(), "cpu", 0, "/tmp/x", "flash_attention_2")
    assert args.padding_free and args.max_length is None
    args = sft_args(cfg(padding_free=False, max_length=300), "cpu", 0, "/tmp/x")
    assert not args.padding_free and args.max_length == 300 and not args.packing
    args = sft_args(cfg(padding_free=True, max_length=300), "cpu", 0, "/tmp/x")
    assert args.padding_free and args.max_length is None
    args = sft_args(cfg(packing=True, max_length=300), "cpu", 0, "/tmp/x")
    assert args.packing and args.max_length == 300 and args.packing_strategy == "bfd"
    args = sft_args(cfg(gradient_checkpointing=True), "cpu", 0, "/tmp/x")
    assert args.gradient_checkpointing and not args.bf16


def test_bf16_is_on_only_on_a_gpu_unless_set():
    assert use_bf16(cfg(), "cpu") is False
    assert use_bf16(cfg(bf16=True), "cpu") is True
    assert use_bf16(cfg(bf16=False), "cuda") is False
    assert use_bf16(cfg(), "cuda") is (torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def test_config_keys_validate(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("task: {name: basic_arithmetic}\ntrain: {padding_free: false, packing: true, bf16: false}\n")
    t = load_config(p).train
    assert (t.padding_free, t.packing, t.bf16) == (False, True, False)
    t = load_config(p, ["train.padding_free=null", "train.bf16=true"]).train
    assert t.padding_free is None and t.bf16 is True
    with pytest.raises(ConfigError, match="train.padding_free"):
        load_config(p, ["train.padding_free=sometimes"])
    with pytest.raises(ConfigError, match="Did you mean `train.padding_free`"):
        load_config(p, ["train.paddingfree=true"])
    assert TrainConfig().padding_free is None and TrainConfig().packing is False and TrainConfig().bf16 is None


def test_cpu_loss_scores_labelled_positions_only_with_the_same_losses(tmp_path, monkeypatch):
    """On a CPU TRL projects every position through the LM head; selftaught only the labelled ones.

    Records the rows TRL's chunked log-prob function receives, then trains once more with the plain
    SFTTrainer behaviour (the predicate left alone) and compares losses and weights."""
    from types import SimpleNamespace

    import trl.trainer.utils as trl_utils

    import selftaught.train.common as common

    rows = []
    real = trl_utils._ChunkedLogProbFunction
    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", SimpleNamespace(
        apply=lambda hidden, *a: rows.append(hidden.shape[0]) or real.apply(hidden, *a)))
    compact, w_compact, _ = train_losses("sdpa", tmp_path)
    scored_compact = list(rows)
    rows.clear()
    monkeypatch.setattr(common, "labelled_positions_only", nullcontext)
    full, w_full, _ = train_losses("sdpa", tmp_path)  # TRL's own CPU path: every position of every row
    assert len(scored_compact) == len(rows) == 6
    assert all(c < f for c, f in zip(scored_compact, rows))  # the same batches, fewer positions scored
    assert compact == pytest.approx(full, rel=1e-5, abs=1e-6)
    assert max_weight_diff(w_compact, w_full) < 1e-5
