"""A solution as a list of steps: what process reward models, step labels and step-level search work on.

A task may set its own `step_separator` attribute; otherwise a step is a non-empty line. The final
`Answer:` line counts as the last step (a process reward model scores it like any other step).
`prefix_text` and `continuation_prompt` make the prompt that continues a solution after its first steps
(Monte-Carlo step labels, step-level search); `first_error_search` is the binary search for the first
step whose prefix can no longer reach the right answer. Exact per-step truth for +/- sums is in
`step_truth.py`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.records import Prompt

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


def prefix_text(steps: list[str], separator: str = DEFAULT_SEPARATOR) -> str:
    """The text of a solution's first steps as the model would have written them, ending with the
    separator so the model writes the next step.

    >>> prefix_text(["4 - 1 = 3"])
    '4 - 1 = 3\\n'
    """
    return join_steps(steps, separator) + separator


def continuation_prompt(prompt: Prompt, prefix: str) -> Prompt:
    """`prompt` with `prefix` as the start of the model's answer: a chat prompt gets it as a last assistant
    turn the model continues (`tasks.formats.continues`), a plain-text prompt gets it appended.

    >>> continuation_prompt([{"role": "user", "content": "4 - 1 - 7 ="}], "4 - 1 = 3\\n")[-1]
    {'role': 'assistant', 'content': '4 - 1 = 3\\n'}
    >>> continuation_prompt("Question: 4 - 1 - 7 =\\n", "4 - 1 = 3\\n")
    'Question: 4 - 1 - 7 =\\n4 - 1 = 3\\n'
    """
    if isinstance(prompt, str):
        return prompt + prefix
    return [*prompt, {"role": "assistant", "content": prefix}]


def first_error_search(n_steps: list[int], values: Callable[[list[tuple[int, int]]], list[float]]) -> list[int | None]:
    """Binary search, per solution, for the first step whose value is 0 (OmegaPRM's first-error search).

    `n_steps[s]` is solution s's step count; `values(pairs)` gives the value (e.g. the share of correct
    continuations) of each (solution, step) pair asked for. All searches advance together, one call of
    `values` per halving, so a sampler can run each call's prefixes in one batch. Assumes the values only
    fall to 0 once (a prefix after a fatal error stays fatal); returns None for a solution with no
    0-valued step.

    >>> truth = [[1, 1, 0, 0], [1, 1, 1], [0]]
    >>> first_error_search([4, 3, 1], lambda pairs: [truth[s][i] for s, i in pairs])
    [2, None, 0]
    """
    lo, hi = [0] * len(n_steps), [n - 1 for n in n_steps]
    found: list[int | None] = [None] * len(n_steps)
    while True:
        active = [s for s in range(len(n_steps)) if lo[s] <= hi[s]]
        if not active:
            return found
        pairs = [(s, (lo[s] + hi[s]) // 2) for s in active]
        for (s, mid), value in zip(pairs, values(pairs)):
            if value <= 0:
                found[s], hi[s] = mid, mid - 1
            else:
                lo[s] = mid + 1
