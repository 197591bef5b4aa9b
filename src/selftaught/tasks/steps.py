"""A solution as a list of steps: what process reward models, step labels and step-level search work on.

A task may set its own `step_separator` attribute; otherwise a step is a non-empty line. The final
`Answer:` line counts as the last step (a process reward model scores it like any other step).
"""

from __future__ import annotations

from typing import Any

DEFAULT_SEPARATOR = "\n"


def step_separator(task: Any) -> str:
    """The separator of `task`'s steps: its `step_separator` attribute, else a newline."""
    return getattr(task, "step_separator", None) or DEFAULT_SEPARATOR


def split_steps(completion: str, separator: str = DEFAULT_SEPARATOR) -> list[str]:
    """The non-empty steps of `completion`, each without its separator and outer whitespace.

    >>> split_steps("3 + 4 = 7\\n7 - 2 = 5\\n\\nAnswer: 5")
    ['3 + 4 = 7', '7 - 2 = 5', 'Answer: 5']
    >>> split_steps("a\\n\\nb c\\n\\n", separator="\\n\\n")
    ['a', 'b c']
    """
    return [part.strip() for part in completion.split(separator) if part.strip()]


def join_steps(steps: list[str], separator: str = DEFAULT_SEPARATOR) -> str:
    """The text of a solution made of `steps` (inverse of `split_steps` up to whitespace)."""
    return separator.join(steps)
