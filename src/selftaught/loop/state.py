"""Which model the loop holds in memory, loaded lazily, and the training step that replaces it."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from ..core.config import Config
from .rundir import RunDir


class ModelState:
    """Holds one model at a time: the base model (round 0) or round r's checkpoint."""

    def __init__(self, cfg: Config, run: RunDir, console: Console):
        from ..models import pick_device, resolve_model

        self.cfg, self.run, self.console = cfg, run, console
        self.base_path = resolve_model(cfg.model)  # fails before the run directory is touched
        self.device = pick_device(cfg.device)
        self.model = self.tokenizer = None
        self.holds: int | None = None  # round whose weights are loaded

    def checkpoint_of(self, index: int) -> str:
        return self.base_path if index == 0 else str(self.run.checkpoint(index))

    def ensure(self, index: int) -> None:
        """Load round `index`'s model unless it is the one in memory."""
        if self.holds == index:
            return
        from ..models import load_model

        if self.cfg.threads:
            import torch

            torch.set_num_threads(self.cfg.threads)
        # Weights stay float32 unless asked otherwise: training updates of ~1e-5 vanish in bf16
        # weights; on a GPU the trainer uses bf16 autocast instead.
        dtype = "float32" if self.cfg.dtype == "auto" else self.cfg.dtype
        self.model, self.tokenizer = load_model(self.checkpoint_of(index), self.device, dtype)
        self.holds = index

    def generator(self, index: int, batch_size: int | None = None):
        """A generator over round `index`'s model (`batch_size` sequences at a time)."""
        from ..models import build_generator

        self.ensure(index)
        generator = build_generator(self.cfg, self.model, self.tokenizer)
        if batch_size and hasattr(generator, "batch_size"):
            generator.batch_size = batch_size
        if hasattr(generator, "progress"):
            generator.progress = self.console.is_terminal or self.console.is_interactive
        return generator

    def train(self, index: int, records: list[dict[str, Any]], base: int) -> dict[str, Any]:
        """Fine-tune round `base`'s model on `records` into round index's checkpoint."""
        log_path = self.run.path(index, "train.json")
        if self.run.checkpoint(index).exists() and log_path.exists():
            return json.loads(log_path.read_text())
        if not records:
            self.console.print("[yellow]no sample selected this round: the model is carried over unchanged[/]")
            self.ensure(base)
            from ..train import save_model

            save_model(self.model, self.tokenizer, self.run.checkpoint(index))
            metrics: dict[str, Any] = {"train/steps": 0, "train/tokens": 0}
        else:
            from ..train import train_sft

            self.ensure(base)
            self.console.print(f"training: {len(records)} records, {self.cfg.train.epochs:g} epochs")
            data = [_prompt_completion(r) for r in records]
            self.model, result = train_sft(self.model, self.tokenizer, data, self.cfg.train, self.device,
                                           self.cfg.seed + index, save_dir=self.run.checkpoint(index))
            metrics = result.metrics()
            metrics["train/loss_curve"] = result.losses
        self.holds = index
        from ..core.io import write_json

        write_json(log_path, metrics)
        return metrics


def _prompt_completion(record: dict[str, Any]) -> dict[str, Any]:
    """SFT `messages` -> TRL prompt/completion, so the loss falls on the completion only."""
    messages = record["messages"]
    return {"prompt": messages[:-1], "completion": messages[-1:]}
