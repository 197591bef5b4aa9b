"""Tasks: problems and truth. A reasoning-gym dataset, a JSONL / `datasets` file, or a user callable.

`build_task(cfg.task)` picks one by which of `name`, `path`, `callable` is set; each kind registers its
builder in `TASK_KINDS` at the bottom of its own module (see `kinds`).
"""

from __future__ import annotations

from .callable_task import load_callable_task
from .extract import extract_answer
from .gym import ReasoningGymTask, list_gym_tasks
from .jsonl import JsonlTask, answers_match
from .kinds import TASK_KINDS, build_task
from .prompts import DEFAULT_SYSTEM_PROMPT, PROMPT_VERSION, build_messages

__all__ = [
    "TASK_KINDS",
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

