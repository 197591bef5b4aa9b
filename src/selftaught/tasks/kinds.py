"""The registry of task kinds (`TASK_KINDS`) and `build_task(cfg.task)`.

A task kind is a builder `(TaskConfig) -> Task` registered under the `task.*` key that selects it, at
the bottom of its own module: `name` (reasoning-gym, gym.py), `path` (JSONL / `datasets`, jsonl.py),
`callable` (a user's `module:function`, callable_task.py), `mixture` (weighted sources, mixture.py).
Exactly one of those keys is set.
"""

from __future__ import annotations

from typing import Callable

from ..core.config import TaskConfig
from ..core.errors import ConfigError
from ..core.protocols import Task
from ..core.registry import Registry

TASK_KINDS: Registry[Callable[[TaskConfig], Task]] = Registry("task kind", package="selftaught.tasks")


def build_task(cfg: TaskConfig) -> Task:
    """The Task a `TaskConfig` describes: exactly one of the task-kind keys (`name`, `path`, `callable`,
    `mixture`) is set."""
    chosen = [key for key in TASK_KINDS.names() if getattr(cfg, key, None)]
    if len(chosen) != 1:
        raise ConfigError(
            f"task: set exactly one of task.name (reasoning-gym), task.path (JSONL / datasets folder) "
            f", task.callable (module:function) or task.mixture (a list of sources); got {', '.join(chosen) or 'none'}."
        )
    return TASK_KINDS.get(chosen[0])(cfg)
