"""Train a model from scratch on a task's easy levels (`selftaught scratch`), and measure accuracy per level.

`pretrain(cfg)` builds the model the recipe's `scratch:` section describes (models/scratch.py: a small
Llama-shaped transformer, character tokenizer, NoPE by default), trains it with the project's SFT
trainer (TRL SFTTrainer, loss on the answer only) on `scratch.n_train` problems of levels
`scratch.min_level..max_level` with their gold answers, and saves it into the recipe's `model` folder,
where `selftaught run` with the same recipe then starts. `level_accuracy` is the greedy held-out accuracy
at each level (the table of the length-generalization reproduction).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Sequence

from ..core.config import Config
from ..core.errors import ConfigError
from ..core.records import Problem, SamplingParams
from ..models.resolve import WEIGHT_FILES
from ..models.scratch import build_scratch_model, save_scratch

__all__ = ["level_accuracy", "pretrain", "scratch_records", "scratch_folder"]


def scratch_folder(cfg: Config, force: bool = False) -> Path:
    """The folder `selftaught scratch` writes: the recipe's `model` (a path, not `default`), not yet holding a
    model unless `force`."""
    folder = Path(cfg.model).expanduser()
    if cfg.model == "default":
        raise ConfigError(f"model: `selftaught scratch` writes the new model into the recipe's `model` folder, so "
                          f"`model` must be a local path such as runs/{cfg.name}/scratch, got {cfg.model!r}.")
    if folder.is_file():
        raise ConfigError(f"model: {folder} is a file; `selftaught scratch` writes a model folder there.")
    if not force and folder.is_dir() and any(next(folder.glob(p), None) for p in WEIGHT_FILES):
        raise ConfigError(f"model: {folder} already holds a model; pass --force to train a new one over it.")
    return folder


def scratch_records(task: Any, cfg: Config) -> list[dict[str, str]]:
    """Prompt/completion text records with gold answers, levels drawn uniformly from the scratch range."""
    sc = cfg.scratch
    rng = random.Random(cfg.seed)
    counts: dict[int, int] = {}
    for _ in range(sc.n_train):
        level = rng.randint(sc.min_level, sc.max_level)
        counts[level] = counts.get(level, 0) + 1
    records = [{"prompt": p.prompt, "completion": p.answer}
               for level, n in sorted(counts.items()) for p in task.problems("train", n, cfg.seed, level=level)]
    random.Random(cfg.seed + 1).shuffle(records)
    if any(not isinstance(r["prompt"], str) or r["completion"] is None for r in records):
        raise ConfigError("scratch: the task must give plain-text prompts with gold answers to train from scratch.")
    return records


def level_accuracy(model, tokenizer, task: Any, levels: Sequence[int], n: int, seed: int,
                   batch_size: int = 256) -> dict[int, float]:
    """Greedy held-out accuracy at each level (`n` eval problems a level)."""
    from ..models.hf import HFGenerator

    generator = HFGenerator(model, tokenizer, batch_size=batch_size, prompt_format="plain")
    out = {}
    for level in levels:
        problems: list[Problem] = task.problems("eval", n, seed, level=level)
        params = SamplingParams(temperature=0.0, max_new_tokens=level + 3, stop=())
        groups = generator.generate([p.prompt for p in problems], params, n=1)
        right = [task.score(p, g[0].text).verdict == "correct" for p, g in zip(problems, groups)]
        out[level] = sum(right) / len(right)
    return out


def pretrain(cfg: Config, task: Any, device: str = "cpu", force: bool = False,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build, train and save the scratch model; returns its metrics (train/..., accuracy per level)."""
    from .sft import train_sft

    folder = scratch_folder(cfg, force)
    sc = cfg.scratch
    model, tokenizer = build_scratch_model(sc.layers, sc.hidden_size, sc.heads, sc.intermediate_size, sc.positions,
                                           sc.max_positions, seed=cfg.seed)
    records = scratch_records(task, cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"scratch: {sc.positions} model, {sc.layers} layers x {sc.hidden_size}, {n_params / 1e6:.2f}M parameters; "
        f"{len(records)} problems of levels {sc.min_level}-{sc.max_level}, {sc.epochs:g} epoch(s)")
    train_cfg = cfg.train.model_copy(update={
        "learning_rate": sc.learning_rate, "epochs": sc.epochs, "batch_size": sc.batch_size, "grad_accum": 1,
        "warmup_ratio": sc.warmup_ratio, "lr_scheduler": sc.lr_scheduler, "lora": cfg.train.lora.model_copy(
            update={"enabled": False}), "max_length": min(cfg.train.max_length, sc.max_positions)})
    model, result = train_sft(model, tokenizer, records, train_cfg, device, cfg.seed)
    save_scratch(model, tokenizer, folder)
    levels = list(range(1, sc.max_level + 3))
    accuracy = level_accuracy(model, tokenizer, task, levels, sc.n_eval, cfg.seed)
    return {**result.metrics(), "model": str(folder), "parameters": n_params,
            "accuracy": {str(k): round(v, 4) for k, v in accuracy.items()}}
