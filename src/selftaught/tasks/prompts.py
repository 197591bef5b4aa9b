"""Chat prompts: a system instruction, a few worked examples, then the question.

The worked-example shape is a plain function, `WorkedExample = (question, answer, metadata) -> str`,
so a task can swap it: `ReasoningGymTask(..., worked_example=my_fn)` or an entry in
`WORKED_EXAMPLES` keyed by reasoning-gym dataset name. Any change to the text here must bump
`PROMPT_VERSION`, which each task records in its `version`.

Worked examples show the reasoning where the task's metadata allows it (`rationales.py`: letter
counting word by word, legs per animal, Euclid's divisions, sorting order, a chain of sums step by
step); other datasets get the generic one-line example, and `task.demos: self` replaces the examples
with the model's own verified attempts (`demos.py`).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.errors import ConfigError
from ..core.records import DEFAULT_STOP, Message
from .rationales import RATIONALES, Rationale
from .step_truth import partial_sums_rationale

__all__ = [
    "PROMPT_VERSION",
    "DEFAULT_SYSTEM_PROMPT",
    "WorkedExample",
    "WORKED_EXAMPLES",
    "build_messages",
    "stop_strings",
    "default_worked_example",
    "expression_worked_example",
    "rationale_worked_example",
    "worked_example_for",
    "p1_worked_example_for",
    "steps_worked_example_for",
    "STEP_WORKED_EXAMPLES",
]

# p2: worked examples that show the reasoning for letter_counting, leg_counting, gcd, number_sorting and
# chain_sum (p1: "Working it out gives N." for all but basic_arithmetic and chain_sum's bare expression).
PROMPT_VERSION = "p2"

# Measured on SmolLM2-135M-Instruct, 64 eval problems of 2-term +/- arithmetic, 2 shots, greedy:
# 14.1% correct, 4.7% unparsed (two other wordings: 12.5% each; the spread is within noise).
DEFAULT_SYSTEM_PROMPT = (
    "Solve the problem step by step, briefly, and finish with a final line: Answer: <answer>"
)

WorkedExample = Callable[[str, str, dict[str, Any]], str]


def default_worked_example(question: str, answer: str, metadata: dict[str, Any]) -> str:
    """A generic worked answer: one short line, then the `Answer:` line (a multi-line answer below it).

    >>> print(default_worked_example("Reverse 'ab'.", "ba", {}))
    Working it out gives ba.
    Answer: ba
    >>> print(default_worked_example("Transpose [[1, 2]].", "1\\n2", {}))
    Working it out gives this.
    Answer:
    1
    2
    """
    if "\n" in answer:
        return f"Working it out gives this.\nAnswer:\n{answer}"
    stop = "" if answer.endswith((".", "!", "?")) else "."
    return f"Working it out gives {answer}{stop}\nAnswer: {answer}"


def expression_worked_example(question: str, answer: str, metadata: dict[str, Any]) -> str:
    """For tasks whose metadata carries the `expression` (reasoning-gym's basic_arithmetic).

    >>> print(expression_worked_example("Calculate 5 - 3.", "2", {"expression": "5 - 3"}))
    5 - 3 = 2
    Answer: 2
    """
    expression = metadata.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        return default_worked_example(question, answer, metadata)
    return f"{expression.strip()} = {answer}\nAnswer: {answer}"


def rationale_worked_example(rationale: Rationale, fallback: WorkedExample = default_worked_example) -> WorkedExample:
    """A worked example from a metadata `rationale` (tasks/rationales.py), `fallback` when it returns None.

    >>> from selftaught.tasks.rationales import gcd
    >>> rationale_worked_example(gcd)("q", "7", {})
    'Working it out gives 7.\\nAnswer: 7'
    """
    def worked(question: str, answer: str, metadata: dict[str, Any]) -> str:
        return rationale(question, answer, metadata) or fallback(question, answer, metadata)

    worked.__name__ = f"rationale_{getattr(rationale, '__name__', 'worked_example')}"
    return worked


# reasoning-gym dataset name -> worked-example shape; anything else uses the default.
WORKED_EXAMPLES: dict[str, WorkedExample] = {
    "basic_arithmetic": expression_worked_example,  # kept as in p1: the default recipe's figures use it
    **{name: rationale_worked_example(r, expression_worked_example if name == "chain_sum" else default_worked_example)
       for name, r in RATIONALES.items()},
}


def p1_worked_example_for(dataset_name: str) -> WorkedExample:
    """Prompt version p1's shape (`task.demos: bare`): the bare expression for basic_arithmetic and
    chain_sum, `Working it out gives N.` for every other dataset."""
    return expression_worked_example if dataset_name in ("basic_arithmetic", "chain_sum") else default_worked_example


# `task.demos: steps`: worked examples whose every line is a checkable step (tasks/step_truth.py).
STEP_WORKED_EXAMPLES: dict[str, WorkedExample] = {
    name: rationale_worked_example(partial_sums_rationale, expression_worked_example)
    for name in ("chain_sum", "basic_arithmetic")}


def steps_worked_example_for(dataset_name: str) -> WorkedExample:
    """The step-structured worked-example shape (`task.demos: steps`): running partial sums, one line each.

    >>> print(steps_worked_example_for("basic_arithmetic")("Calculate 2 + -3 + 9.", "8", {"expression": "2 + -3 + 9"}))
    2 - 3 = -1
    -1 + 9 = 8
    Answer: 8
    """
    if dataset_name not in STEP_WORKED_EXAMPLES:
        raise ConfigError(f"task.demos: steps has step-structured worked examples for "
                          f"{', '.join(sorted(STEP_WORKED_EXAMPLES))} only, not `{dataset_name}`; use "
                          f"task.demos: given.")
    return STEP_WORKED_EXAMPLES[dataset_name]


def worked_example_for(dataset_name: str) -> WorkedExample:
    """The worked-example shape registered for a dataset name (default when none is)."""
    return WORKED_EXAMPLES.get(dataset_name, default_worked_example)


def build_messages(
    question: str,
    examples: list[tuple[str, str]] | None = None,
    system_prompt: str | None = None,
) -> list[Message]:
    """System instruction, then each (question, worked answer) as a user/assistant turn, then the question.

    >>> msgs = build_messages("Calculate 1 + 1.", [("Calculate 5 - 3.", "5 - 3 = 2\\nAnswer: 2")])
    >>> [m["role"] for m in msgs]
    ['system', 'user', 'assistant', 'user']
    >>> msgs[-1]["content"]
    'Calculate 1 + 1.'
    """
    messages: list[Message] = [{"role": "system", "content": system_prompt or DEFAULT_SYSTEM_PROMPT}]
    for example_question, worked in examples or []:
        messages.append({"role": "user", "content": example_question})
        messages.append({"role": "assistant", "content": worked})
    messages.append({"role": "user", "content": question})
    return messages


PROMPT_FORMATS = ("chat", "plain")


def stop_strings(prompt_format: str = "chat") -> tuple[str, ...]:
    """Where generation stops for a prompt format: the end of a turn and the start of an invented next
    one (`core.records.DEFAULT_STOP`, the default of `SamplingParams.stop`). Both formats use the same
    list today: chat templates' role tokens, and `Question:` / `User:` / `Q:` lines as plain text.

    >>> "\\nQuestion:" in stop_strings("plain")
    True
    """
    if prompt_format not in PROMPT_FORMATS:
        raise ConfigError(f"unknown prompt format {prompt_format!r}: expected one of {', '.join(PROMPT_FORMATS)}.")
    return DEFAULT_STOP
