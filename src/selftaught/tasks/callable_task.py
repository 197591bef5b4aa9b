"""A user's own task, named `module:function` (or `module:object`).

The function is imported and called with no arguments; it must return an object satisfying the
`Task` protocol (`name`, `version`, `problems(split, n, seed, level=None)`, `score(problem, completion)`).
The current working directory is put on `sys.path` first, so a `my_task.py` beside the recipe works.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from ..core.errors import ConfigError
from ..core.protocols import Task
from .kinds import TASK_KINDS

__all__ = ["load_callable_task"]

_REQUIRED = ("name", "version", "problems", "score")


def _split_spec(spec: str) -> tuple[str, str]:
    """('module.path', 'attr.path') from 'module.path:attr.path'; ConfigError when malformed."""
    module, sep, attr = spec.partition(":")
    if not sep or not module.strip() or not attr.strip() or ":" in attr:
        raise ConfigError(
            f"task.callable: {spec!r} is not of the form `module:function`, for example "
            f"`my_tasks:make_task` (a function in my_tasks.py that returns a Task)."
        )
    return module.strip(), attr.strip()


def _import(module_name: str, spec: str) -> Any:
    """Import `module_name` with the working directory on sys.path; ConfigError if it is missing."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise ConfigError(
                f"task.callable: cannot import module `{module_name}` (from {spec!r}): not found on "
                f"the Python path. Run from the folder holding {module_name.replace('.', '/')}.py "
                f"or install its package."
            ) from None
        raise ConfigError(f"task.callable: importing `{module_name}` failed: {e}.") from None


def _attribute(module: Any, attr: str, spec: str) -> Any:
    """Follow the dotted `attr` inside `module`; ConfigError naming what the module does have."""
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = sorted(n for n in dir(obj) if not n.startswith("_"))
            raise ConfigError(
                f"task.callable: `{module.__name__}` has no attribute `{attr}` (from {spec!r}). "
                f"Its public names: {', '.join(public[:30]) or '(none)'}."
            )
        obj = getattr(obj, part)
    return obj


def load_callable_task(spec: str) -> Task:
    """Import `module:function`, call it, and check that the result is a Task."""
    module_name, attr = _split_spec(spec)
    target = _attribute(_import(module_name, spec), attr, spec)
    if not callable(target) or (isinstance(target, Task) and not isinstance(target, type)):
        task = target  # already a task object
    else:
        try:
            task = target()
        except ConfigError:
            raise
        except TypeError as e:
            raise ConfigError(f"task.callable: calling {spec!r} with no arguments failed: {e}.") from None
    if isinstance(task, type) or not isinstance(task, Task):
        missing = [a for a in _REQUIRED if not hasattr(task, a)]
        detail = f"it lacks {', '.join(missing)}" if missing else "it is a class, not an instance"
        raise ConfigError(
            f"task.callable: {spec!r} returned {type(task).__name__}, not a Task ({detail}). A Task has "
            f"`name`, `version`, `problems(split, n, seed, level=None)` and `score(problem, completion)`."
        )
    _check_score_signature(task, spec)
    return task


def _check_score_signature(task: Any, spec: str) -> None:
    """ConfigError when `task.score` cannot be called as score(problem, completion), before a model loads."""
    try:
        signature = inspect.signature(task.score)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    try:
        signature.bind(None, "")
    except TypeError as e:
        raise ConfigError(
            f"task.callable: {spec!r}: its score{signature} cannot be called as score(problem, completion) "
            f"({e}). A Task's score takes the Problem and the completion text and returns a Score."
        ) from None


TASK_KINDS.register("callable", lambda cfg: load_callable_task(cfg.callable))
