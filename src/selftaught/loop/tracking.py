"""The loop's per-round metrics sent to the tracker the trainers use (`train.report_to`).

- `none`: nothing (metrics.json / metrics.jsonl / report.html hold everything anyway);
- `tensorboard`: a SummaryWriter under RUN_DIR/tb/loop, one point per round (x = round); the
  trainers write their step logs under RUN_DIR/tb/round_NNN;
- `wandb`: one wandb run for the loop (project `selftaught`, name = the run's name, the resolved
  config attached); the in-process trainers log into the same run (TRL's WandbCallback reuses
  an active run).

`check_tracker` fails early, before anything is written, when the package is missing.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from ..core.config import Config
from ..core.errors import ConfigError

PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


def check_tracker(report_to: str) -> None:
    """ConfigError naming the package to install when `report_to` needs one that is missing."""
    package = PACKAGES.get(report_to)
    if package and importlib.util.find_spec(package) is None:
        raise ConfigError(f"train.report_to: {report_to} needs the `{package}` package, which is not installed: "
                          f"pip install {package}  (or set train.report_to=none).")


def scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics a tracker can plot: finite numbers (bools and lists left out).

    >>> scalars({"eval/accuracy": 0.5, "settings": {}, "train/loss_curve": [1.0], "ok": True, "x": None})
    {'eval/accuracy': 0.5}
    """
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


class Tracker:
    """log(metrics, round) / close(); a no-op for `none`."""

    def __init__(self, cfg: Config, root: str | Path):
        self.kind = cfg.train.report_to
        self.writer: Any = None
        self.wandb_run: Any = None
        check_tracker(self.kind)
        if self.kind == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(root) / "tb" / "loop"))
        elif self.kind == "wandb":
            import wandb

            self.wandb_run = wandb.run or wandb.init(project="selftaught", name=cfg.name, dir=str(root),
                                                     config=cfg.model_dump(mode="json"))

    def log(self, metrics: dict[str, Any], index: int) -> None:
        values = scalars(metrics)
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, value, global_step=index)
            self.writer.flush()
        if self.wandb_run is not None:
            self.wandb_run.log({**{f"loop/{k}": v for k, v in values.items()}, "loop/round": index})

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.wandb_run is not None:
            self.wandb_run.finish()
