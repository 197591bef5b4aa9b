"""Direct preference optimisation on self-generated pairs, through TRL's DPOTrainer.

Pairs come as conversational `prompt` (chat messages) / `chosen` / `rejected` (one assistant
message each), the form `select.build_pairs` writes to a round's pairs.jsonl. The reference model
is whatever the caller gives (`ref_model`); with None it is the model as it starts this call: with
LoRA TRL gets it for free by disabling the adapter, otherwise a frozen copy is made here (TRL's
own fallback reloads the model from its config path, which for a model trained in memory is the
wrong, older checkpoint).
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

from ..core.config import TrainConfig
from ..core.errors import ConfigError
from .common import (common_args, finish, labelled_positions_only, lora_config, quiet_trainer, result_of, tracker_dir,
                     train_with_progress)
from .round import TRAINERS, Trainer

PAIR_FIELDS = ("prompt", "chosen", "rejected")
# Logged by DPOTrainer -> averaged over the round's steps into these metric names.
DPO_KEYS = {"rewards/margins": "train/reward_margin", "rewards/accuracies": "train/reward_accuracy",
            "rewards/chosen": "train/reward_chosen", "rewards/rejected": "train/reward_rejected"}


def dpo_args(cfg: TrainConfig, device: str, seed: int, output_dir: str):
    from trl import DPOConfig

    return DPOConfig(**common_args(cfg, device, seed, output_dir), max_length=cfg.max_length,
                     beta=cfg.dpo.beta)


def train_dpo(model, tokenizer, pairs: list[dict[str, Any]], cfg: TrainConfig, device: str, seed: int,
              save_dir: str | Path | None = None, ref_model=None, log_dir: str | Path | None = None,
              base_path: str | None = None):
    """DPO-train `model` on prompt/chosen/rejected `pairs` (extra keys such as ids are ignored).

    `ref_model`: the frozen reference (None: the model as it starts). Returns (model, TrainResult),
    the model merged when LoRA is on (None when several processes trained it: then it is only saved).
    """
    import datasets
    from trl import DPOTrainer

    if not pairs:
        raise ValueError("train_dpo needs at least one pair")
    missing = [k for k in PAIR_FIELDS if k not in pairs[0]]
    if missing:
        raise ValueError(f"train_dpo: pairs need prompt/chosen/rejected, missing {missing}")
    check_prompt_lengths(tokenizer, pairs, cfg.max_length)
    start = time.time()
    datasets.disable_progress_bars()
    dataset = datasets.Dataset.from_list([{k: p[k] for k in PAIR_FIELDS} for p in pairs])
    if ref_model is None and not cfg.lora.enabled:
        ref_model = copy.deepcopy(model).eval()
    with tempfile.TemporaryDirectory(prefix="selftaught-dpo-") as tmp, tracker_dir(cfg, log_dir):
        trainer = DPOTrainer(
            model=model,
            ref_model=ref_model,
            args=dpo_args(cfg, device, seed, tmp),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(cfg) if cfg.lora.enabled else None,
        )
        quiet_trainer(trainer)
        with labelled_positions_only():  # on a CPU too, as TRL does on a GPU
            out = train_with_progress(trainer)
    result = result_of(trainer, out, start, DPO_KEYS)
    result.extra["train/pairs"] = len(pairs)
    return finish(trainer, tokenizer, cfg, save_dir, base_path), result


def check_prompt_lengths(tokenizer, pairs: list[dict[str, Any]], max_length: int | None) -> None:
    """A ConfigError when every pair's prompt alone fills train.max_length: TRL would keep no completion
    tokens of any pair and train on nothing (it reports only `num_samples=0`). Long judge prompts with
    their rationales (select.rule judge, `selftaught judge-train`) are where this happens."""
    if max_length is None:
        return
    lengths = []
    for p in pairs:
        prompt = p["prompt"]
        ids = (tokenizer(prompt, add_special_tokens=True)["input_ids"] if isinstance(prompt, str) else
               tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True))
        lengths.append(len(ids["input_ids"] if isinstance(ids, Mapping) else ids))  # a BatchEncoding in newer transformers
    if lengths and min(lengths) >= max_length:
        raise ConfigError(f"train.max_length is {max_length} tokens, but every DPO pair's prompt is at least "
                          f"{min(lengths)} tokens (longest {max(lengths)}), so no pair keeps a token of its answers "
                          f"to train on; raise train.max_length above {max(lengths) + 64} or shorten the prompts.")


def _run(cfg, model, tokenizer, records, device, seed, *, save_dir, log_dir, base_path, task=None, ref_model=None):
    return train_dpo(model, tokenizer, records, cfg.train, device, seed, save_dir=save_dir, ref_model=ref_model,
                     log_dir=log_dir, base_path=base_path)


TRAINERS.register("dpo", Trainer("pairs", _run))
