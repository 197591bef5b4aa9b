"""`selftaught scratch RECIPE [--set ...] [--force]`: build the recipe's `scratch:` model and train it from
scratch on the task's easy levels (train/scratch.py), into the recipe's `model` folder; `selftaught run`
with the same recipe then improves it. Registered in cli/main.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import console, load_recipe, quiet_libraries, set_option, user_errors


@user_errors
def scratch_command(
    recipe: str = typer.Argument(..., help="Recipe file or name in recipes/ (its `scratch:` section and `model` folder)."),
    overrides: Optional[list[str]] = set_option(),
    force: bool = typer.Option(False, "--force", help="Train a new model over one already in the `model` folder."),
) -> None:
    """Train a small model from scratch (character tokenizer, no pretrained weights) on the task's easy levels."""
    import torch

    from ..models.resolve import pick_device
    from ..tasks import build_task
    from ..train.scratch import pretrain, scratch_folder

    cfg = load_recipe(recipe, overrides or [])
    scratch_folder(cfg, force)  # a bad `model` fails before anything is built
    quiet_libraries()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    task = build_task(cfg.task)
    metrics = pretrain(cfg, task, device=pick_device(cfg.device), force=force,
                       log=lambda line: console.print(line, highlight=False))
    accuracy = "  ".join(f"L{k}: {100 * v:.0f}%" for k, v in metrics["accuracy"].items())
    console.print(f"held-out accuracy per level: {accuracy}", highlight=False)
    console.print(f"model: {metrics['model']}  (train/loss {metrics['train/loss']:.4f}, "
                  f"{metrics['train/seconds']:.0f} s)", highlight=False)
    (Path(metrics["model"]) / "scratch_metrics.json").write_text(json.dumps(metrics, indent=1))
