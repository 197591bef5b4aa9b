"""Supervised fine-tuning on a round's selected samples, through TRL's SFTTrainer.

Records come in TRL's conversational prompt-completion form (`prompt`: chat messages, `completion`:
one assistant message), so TRL computes the loss on the completion tokens only. LoRA goes through
PEFT and is merged into the weights before saving, so every round's checkpoint is a plain model
folder that transformers and vLLM load directly.

Speed (`train.padding_free`, `train.packing`, `train.bf16`, `train.gradient_checkpointing`): on a GPU
bf16 mixed precision without gradient checkpointing (TRL turns it on: ~30% more compute for memory a
small model does not need); batches padded to their longest record, or padding-free (the batch's
records in one row, `position_ids` restarting at each; transformers makes them a block-diagonal causal
mask, so each record's loss is what it is padded) where the attention kernel is flash-attention, which
then skips the padding; with sdpa the mask spans the whole row and padding-free is slower. The CPU
trains in float32. `benchmarks/sft.py` measures these settings against TRL's defaults.
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from ..core.config import TrainConfig
from . import common
from .round import TRAINERS, Trainer, prompt_completion
from .common import (TrainResult, common_args, finish, lora_config, quiet_trainer, result_of, save_model, tracker_dir,
                     train_with_progress)

__all__ = ["TrainResult", "lora_config", "save_model", "sft_args", "sft_trainer", "train_sft", "use_padding_free"]


def varlen_attention(attn_implementation: str | None) -> bool:
    """Whether the attention kernel takes a padding-free row as separate sequences (flash-attention's
    varlen kernels, also as Hub kernels): no padding and no (tokens x tokens) mask to compute."""
    return bool(attn_implementation) and "flash" in attn_implementation and attn_implementation != "sdpa"


def use_padding_free(cfg: TrainConfig, attn_implementation: str | None = None) -> bool:
    """`train.padding_free`, or (None) on with a flash-attention kernel and off otherwise.

    Padding-free batches train exactly like padded ones with every attention implementation of
    transformers 5 (sdpa and eager build a block-diagonal causal mask from the restarting
    position_ids), but with sdpa or eager that mask covers the whole concatenated row, so attention
    costs (batch tokens)^2 instead of batch x (longest record)^2. Measured with sdpa (benchmarks/sft.py):
    H100, batch 32, 0.92x the padded tokens/s; CPU, batch 4 of ~200-token records, 1.07x, but the
    masked attention grows 8x slower than padded at 8 records of 512 tokens. Flash-attention kernels
    skip both the padding and the mask.
    """
    if cfg.padding_free is not None:
        return cfg.padding_free
    return varlen_attention(attn_implementation)


def sft_args(cfg: TrainConfig, device: str, seed: int, output_dir: str, attn_implementation: str | None = None):
    """TRL's SFTConfig for `cfg` (and the model's attention implementation, for `train.padding_free`).

    TRL refuses `max_length` with padding-free batches unless it packs (it would not truncate them), so
    then `max_length` is None here and `sft_trainer` truncates the tokenised records itself.
    """
    from trl import SFTConfig

    padding_free = use_padding_free(cfg, attn_implementation)
    return SFTConfig(**common_args(cfg, device, seed, output_dir),
                     max_length=None if padding_free and not cfg.packing else cfg.max_length,
                     padding_free=padding_free, packing=cfg.packing, packing_strategy="bfd",
                     completion_only_loss=True,
                     # padding-free batches have no attention mask to count tokens by; TRL's own
                     # `num_tokens` (logged every step) counts them exactly then
                     include_num_input_tokens_seen="no" if padding_free or cfg.packing else "non_padding")


@functools.cache
def _trainer_class():
    from trl import SFTTrainer

    class CompactSFTTrainer(SFTTrainer):
        """SFTTrainer whose loss scores labelled positions only, on a CPU too (`labelled_positions_only`)."""

        def compute_loss(self, *args, **kwargs):
            with common.labelled_positions_only():
                return super().compute_loss(*args, **kwargs)

    return CompactSFTTrainer


def sft_trainer(model, tokenizer, records: list[dict[str, Any]], cfg: TrainConfig, device: str, seed: int,
                output_dir: str):
    """The SFTTrainer `train_sft` trains with (records tokenised, truncated to `train.max_length`)."""
    import datasets

    if not records:
        raise ValueError("train_sft needs at least one record")
    datasets.disable_progress_bars()  # the loop shows its own progress
    args = sft_args(cfg, device, seed, output_dir, getattr(model.config, "_attn_implementation", None))
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=lora_config(cfg) if cfg.lora.enabled else None,
    )
    if args.max_length is None:
        trainer.train_dataset = _truncate(trainer.train_dataset, cfg.max_length)
    quiet_trainer(trainer)
    return trainer


def train_sft(model, tokenizer, records: list[dict[str, Any]], cfg: TrainConfig, device: str,
              seed: int, save_dir: str | Path | None = None, log_dir: str | Path | None = None,
              base_path: str | None = None):
    """Fine-tune `model` in place on prompt/completion `records`; optionally save it to `save_dir`.

    Returns (model, TrainResult). With LoRA the returned model is the merged base model (None when
    several processes trained it: then it is only saved). `log_dir`: where a TensorBoard tracker
    writes; `base_path`: the starting model's folder (to merge LoRA after a distributed run).
    """
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="selftaught-sft-") as tmp, tracker_dir(cfg, log_dir):
        trainer = sft_trainer(model, tokenizer, records, cfg, device, seed, tmp)
        out = train_with_progress(trainer)
    result = result_of(trainer, out, start)
    result.tokens = result.tokens or _count_tokens(trainer)
    model = finish(trainer, tokenizer, cfg, save_dir, base_path)
    return model, result


def _truncate(dataset, max_length: int):
    """Keep each tokenised record's first `max_length` tokens and drop records left without a completion
    token, as TRL does when it truncates (it does not with padding-free batches unless it packs)."""
    if all(len(ids) <= max_length for ids in dataset["input_ids"]):
        return dataset
    columns = [c for c in ("input_ids", "labels", "completion_mask", "assistant_masks") if c in dataset.column_names]
    dataset = dataset.map(lambda ex: {c: ex[c][:max_length] for c in columns})
    if "labels" in dataset.column_names:
        dataset = dataset.filter(lambda ex: any(label != -100 for label in ex["labels"]))
    return dataset


def _count_tokens(trainer) -> int:
    """Tokens in the tokenised training set times epochs (when the trainer did not count them)."""
    ds = trainer.train_dataset
    n = sum(len(ids) for ids in ds["input_ids"]) if "input_ids" in ds.column_names else 0
    return int(n * trainer.args.num_train_epochs)


def _run(cfg, model, tokenizer, records, device, seed, *, save_dir, log_dir, base_path, task=None, ref_model=None):
    return train_sft(model, tokenizer, [prompt_completion(r) for r in records], cfg.train, device, seed,
                     save_dir=save_dir, log_dir=log_dir, base_path=base_path)


TRAINERS.register("sft", Trainer("selected", _run))
