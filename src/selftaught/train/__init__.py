"""Training: SFT, DPO and GRPO through TRL (LoRA through PEFT, merged when saved); `accelerate launch`.

Each trainer registers a `Trainer` in `TRAINERS` at the bottom of its own module (see `round`).
"""
from .common import TrainResult, lora_config, merge_adapter, save_model
from .dpo import train_dpo
from .grpo import train_grpo
from .rewards import (REWARDS, SelfCertaintyReward, make_format_reward, make_majority_reward, make_task_reward,
                      trl_reward)
from .round import RECORD_FILES, TRAINERS, Trainer, prompt_completion, records_file, train_round, trainer_spec
from .sft import train_sft

__all__ = ["RECORD_FILES", "REWARDS", "SelfCertaintyReward", "TRAINERS", "TrainResult", "Trainer", "lora_config",
           "make_format_reward", "make_majority_reward", "make_task_reward", "merge_adapter", "prompt_completion",
           "records_file", "save_model", "train_dpo", "train_grpo", "train_round", "train_sft", "trainer_spec",
           "trl_reward"]
