"""Training: SFT through TRL (LoRA through PEFT)."""
from .sft import TrainResult, save_model, train_sft

__all__ = ["TrainResult", "save_model", "train_sft"]
