"""Tasks: problems and truth. A reasoning-gym dataset, a JSONL / `datasets` file, or a user callable.

`build_task(cfg.task)` picks one by which of `name`, `path`, `callable` is set.
"""

from __future__ import annotations

from ..core.config import TaskConfig
from ..core.errors import ConfigError
from ..core.protocols import Task
from .callable_task import load_callable_task
from .extract import extract_answer
from .gym import ReasoningGymTask, list_gym_tasks
from .jsonl import JsonlTask, answers_match
from .prompts import DEFAULT_SYSTEM_PROMPT, PROMPT_VERSION, build_messages, p1_worked_example_for

__all__ = [
    "build_task",
    "list_gym_tasks",
    "extract_answer",
    "build_messages",
    "answers_match",
    "ReasoningGymTask",
    "JsonlTask",
    "load_callable_task",
    "DEFAULT_SYSTEM_PROMPT",
    "PROMPT_VERSION",
]


def build_task(cfg: TaskConfig) -> Task:
    """The Task a `TaskConfig` describes: exactly one of `name`, `path`, `callable` must be set."""
    chosen = [key for key in ("name", "path", "callable") if getattr(cfg, key)]
    if len(chosen) != 1:
        raise ConfigError(
            f"task: set exactly one of task.name (reasoning-gym), task.path (JSONL / datasets folder) "
            f"or task.callable (module:function); got {', '.join(chosen) or 'none'}."
        )
    if cfg.name:
        bare = p1_worked_example_for(cfg.name) if cfg.demos == "bare" else None
        return ReasoningGymTask(cfg.name, cfg.options, cfg.few_shot, cfg.system_prompt, worked_example=bare)
    if cfg.path:
        if cfg.options:
            raise ConfigError("task.options only applies to reasoning-gym tasks (task.name); remove it for task.path.")
        return JsonlTask(cfg.path, cfg.question_field, cfg.answer_field, cfg.few_shot, cfg.system_prompt)
    return load_callable_task(cfg.callable)
