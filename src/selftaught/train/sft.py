"""Supervised fine-tuning on a round's selected samples, through TRL's SFTTrainer.

Records come in TRL's conversational prompt-completion form (`prompt`: chat messages, `completion`:
one assistant message), so TRL computes the loss on the completion tokens only. LoRA goes through
PEFT and is merged into the weights before saving, so every round's checkpoint is a plain model
folder that transformers and vLLM load directly.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..core.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0  # tokens seen by the model (prompt + completion, summed over epochs)
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        return {
            "train/loss": self.losses[-1] if self.losses else None,
            "train/loss_first": self.losses[0] if self.losses else None,
            "train/steps": self.steps,
            "train/tokens": self.tokens,
            "train/seconds": round(self.seconds, 2),
            "train/tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else None,
        }


def lora_config(cfg: TrainConfig):
    from peft import LoraConfig

    lc = cfg.lora
    return LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                      target_modules=lc.target_modules, task_type="CAUSAL_LM")


def sft_args(cfg: TrainConfig, device: str, seed: int, output_dir: str):
    from trl import SFTConfig

    on_gpu = device.startswith("cuda")
    return SFTConfig(
        output_dir=output_dir,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        max_length=cfg.max_length,
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        seed=seed,
        data_seed=seed,
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        disable_tqdm=True,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
    )


def train_sft(model, tokenizer, records: list[dict[str, Any]], cfg: TrainConfig, device: str,
              seed: int, save_dir: str | Path | None = None):
    """Fine-tune `model` in place on prompt/completion `records`; optionally save it to `save_dir`.

    Returns (model, TrainResult). With LoRA the returned model is the merged base model.
    """
    import datasets
    from transformers import PrinterCallback
    from trl import SFTTrainer

    if not records:
        raise ValueError("train_sft needs at least one record")
    start = time.time()
    datasets.disable_progress_bars()  # the loop shows its own progress
    dataset = datasets.Dataset.from_list(records)
    with tempfile.TemporaryDirectory(prefix="selftaught-sft-") as tmp:
        trainer = SFTTrainer(
            model=model,
            args=sft_args(cfg, device, seed, tmp),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(cfg) if cfg.lora.enabled else None,
        )
        trainer.remove_callback(PrinterCallback)  # log lines go to metrics.json, not stdout
        out = trainer.train()
    history = trainer.state.log_history
    result = TrainResult(
        losses=[h["loss"] for h in history if "loss" in h],
        steps=out.global_step,
        tokens=int(trainer.state.num_input_tokens_seen or _count_tokens(trainer)),
        seconds=time.time() - start,
    )
    model = trainer.model
    if cfg.lora.enabled:
        model = model.merge_and_unload()
    model.eval()
    if save_dir is not None:
        save_model(model, tokenizer, save_dir)
    return model, result


def _count_tokens(trainer) -> int:
    """Tokens in the tokenised training set times epochs (when the trainer did not count them)."""
    ds = trainer.train_dataset
    n = sum(len(ids) for ids in ds["input_ids"]) if "input_ids" in ds.column_names else 0
    return int(n * trainer.args.num_train_epochs)


def save_model(model, tokenizer, save_dir: str | Path) -> None:
    """save_pretrained into `save_dir` atomically: write to a sibling temp folder, then rename."""
    import os
    import shutil

    save_dir = Path(save_dir)
    tmp = save_dir.with_name(save_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if save_dir.exists():
        shutil.rmtree(save_dir)
    os.replace(tmp, save_dir)
