"""Training: SFT, DPO and GRPO through TRL (LoRA through PEFT, merged when saved); `accelerate launch`."""
from .common import TrainResult, lora_config, merge_adapter, save_model
from .dpo import train_dpo
from .grpo import train_grpo
from .rewards import SelfCertaintyReward, make_format_reward, make_majority_reward, make_task_reward
from .round import RECORDS_FILE, prompt_completion, train_round
from .sft import train_sft

__all__ = ["RECORDS_FILE", "SelfCertaintyReward", "TrainResult", "lora_config", "make_format_reward",
           "make_majority_reward", "make_task_reward", "merge_adapter", "prompt_completion", "save_model",
           "train_dpo", "train_grpo", "train_round", "train_sft"]
