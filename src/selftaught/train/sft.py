"""Supervised fine-tuning on a round's selected samples, through TRL's SFTTrainer.

Records come in TRL's conversational prompt-completion form (`prompt`: chat messages, `completion`:
one assistant message), so TRL computes the loss on the completion tokens only. LoRA goes through
PEFT and is merged into the weights before saving, so every round's checkpoint is a plain model
folder that transformers and vLLM load directly.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ..core.config import TrainConfig
from .common import TrainResult, common_args, finish, lora_config, quiet_trainer, result_of, save_model, tracker_dir

__all__ = ["TrainResult", "lora_config", "save_model", "sft_args", "train_sft"]


def sft_args(cfg: TrainConfig, device: str, seed: int, output_dir: str):
    from trl import SFTConfig

    return SFTConfig(**common_args(cfg, device, seed, output_dir), max_length=cfg.max_length,
                     completion_only_loss=True, include_num_input_tokens_seen="non_padding")


def train_sft(model, tokenizer, records: list[dict[str, Any]], cfg: TrainConfig, device: str,
              seed: int, save_dir: str | Path | None = None, log_dir: str | Path | None = None,
              base_path: str | None = None):
    """Fine-tune `model` in place on prompt/completion `records`; optionally save it to `save_dir`.

    Returns (model, TrainResult). With LoRA the returned model is the merged base model (None when
    several processes trained it: then it is only saved). `log_dir`: where a TensorBoard tracker
    writes; `base_path`: the starting model's folder (to merge LoRA after a distributed run).
    """
    import datasets
    from trl import SFTTrainer

    if not records:
        raise ValueError("train_sft needs at least one record")
    start = time.time()
    datasets.disable_progress_bars()  # the loop shows its own progress
    dataset = datasets.Dataset.from_list(records)
    with tempfile.TemporaryDirectory(prefix="selftaught-sft-") as tmp, tracker_dir(cfg, log_dir):
        trainer = SFTTrainer(
            model=model,
            args=sft_args(cfg, device, seed, tmp),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(cfg) if cfg.lora.enabled else None,
        )
        quiet_trainer(trainer)
        out = trainer.train()
    result = result_of(trainer, out, start)
    result.tokens = result.tokens or _count_tokens(trainer)
    model = finish(trainer, tokenizer, cfg, save_dir, base_path)
    return model, result


def _count_tokens(trainer) -> int:
    """Tokens in the tokenised training set times epochs (when the trainer did not count them)."""
    ds = trainer.train_dataset
    n = sum(len(ids) for ids in ds["input_ids"]) if "input_ids" in ds.column_names else 0
    return int(n * trainer.args.num_train_epochs)
