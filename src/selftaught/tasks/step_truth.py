"""Exact per-step truth for sums of + and - terms (chain_sum, basic_arithmetic with + and - only).

The problem's expression is flattened to signed terms (`5 - ( 3 + -6 )` -> [5, -3, 6]); the right
path is the running partial sums left to right, one line each (`5 - 3 = 2`, `2 + 6 = 8`). A step
(one line of a solution, `tasks.steps.split_steps`) is *valid* when

- it holds an equation `A = B [= C ...]` whose sides are +/- expressions of integers, all equal
  (arithmetically right), the last side a single number r, and the first side is the running value so
  far followed by the next terms (any order), or the expression's first terms from the start, with r
  the partial sum after those terms (on the path to the gold answer); or
- it is the `Answer:` line and states the gold answer; or
- it is any other line (words, a restatement without `=`): it adds no error.

A step is right when it and every step before it are valid: truth labels are True up to the first
invalid step, False from there on (`first_error` is that index, None when there is none). A solution
that computes in another order (`1 + 7` first) leaves this path and counts as wrong from that step:
the truth follows the left-to-right partial sums the step-structured prompts show
(`partial_sums_worked_example`). Hand-written: no library parses model arithmetic lines this way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .extract import extract_answer

__all__ = ["StepTruth", "signed_terms", "partial_sums_rationale", "partial_sum_truth", "step_truth_for",
           "STEP_TRUTHS"]

_TOKEN = re.compile(r"\s*(\d+|[-+()])")
_EQUATION = re.compile(r"[-+(\d][-+()\d\s]*(?:\s*=[-+()\d\s]*[-+()\d])+")


@dataclass
class StepTruth:
    """Exact labels of one solution's steps: `labels[i]` is True when steps 0..i are all valid."""

    labels: list[bool]
    first_error: int | None  # index of the first invalid step; None: every step valid


def signed_terms(expression: str) -> list[int] | None:
    """The signed terms of a +/- expression of integers with parentheses; None for anything else.

    >>> signed_terms("4 - 1 - 7"), signed_terms("85 - -82 + 3"), signed_terms("5 - ( 3 + -6 )")
    ([4, -1, -7], [85, 82, 3], [5, -3, 6])
    >>> signed_terms("3 * 4"), signed_terms("1 +"), signed_terms("")
    (None, None, None)
    """
    pos, tokens = 0, []
    while pos < len(expression):
        m = _TOKEN.match(expression, pos)
        if not m:
            if expression[pos:].strip():
                return None
            break
        tokens.append(m.group(1))
        pos = m.end()
    return _parse(tokens) if tokens else None


def _parse(tokens: list[str]) -> list[int] | None:
    """Flatten the token list (numbers, + - and parentheses) into signed terms; None if malformed."""
    terms: list[int] = []
    signs = [1]  # sign of each open parenthesis level
    sign, expect_operand = 1, True
    for tok in tokens:
        if tok in "+-":
            sign *= -1 if tok == "-" else 1
            expect_operand = True
        elif tok == "(":
            if not expect_operand:
                return None
            signs.append(signs[-1] * sign)
            sign = 1
        elif tok == ")":
            if expect_operand or len(signs) == 1:
                return None
            signs.pop()
        else:
            if not expect_operand:
                return None
            terms.append(signs[-1] * sign * int(tok))
            sign, expect_operand = 1, False
    return terms if terms and not expect_operand and len(signs) == 1 else None


def partial_sums_rationale(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """The running partial sums of the item's `expression`, one line each, then the Answer line.

    >>> print(partial_sums_rationale("", "170", {"expression": "85 - -82 + 3"}))
    85 + 82 = 167
    167 + 3 = 170
    Answer: 170
    >>> partial_sums_rationale("", "12", {"expression": "3 * 4"}) is None
    True
    """
    terms = signed_terms(str(metadata.get("expression") or ""))
    if not terms or len(terms) < 2 or str(sum(terms)) != answer.strip():
        return None
    lines, value = [], terms[0]
    for t in terms[1:]:
        lines.append(f"{value} {'+' if t >= 0 else '-'} {abs(t)} = {value + t}")
        value += t
    return "\n".join(lines) + f"\nAnswer: {answer.strip()}"


def _step_valid(step: str, terms: list[int], done: int, gold: int) -> tuple[bool, int]:
    """(valid, terms consumed after it) for one step, `done` terms consumed before it."""
    stated = extract_answer(step)
    if stated is not None:  # the Answer line
        parsed = signed_terms(stated)
        return parsed is not None and len(parsed) == 1 and parsed[0] == gold, done
    found = _EQUATION.findall(step)
    if not found:
        return True, done  # words only: no arithmetic to be wrong
    sides = [signed_terms(s) for s in found[-1].split("=")]
    if any(s is None for s in sides) or len({sum(s) for s in sides}) != 1 or len(sides[-1]) != 1:
        return False, done
    first, result = sides[0], sides[-1][0]
    value = sum(terms[:done])
    for end in range(max(done, 1) + 1, len(terms) + 1):
        if sum(terms[:end]) != result:
            continue
        from_value = done >= 1 and first[0] == value and sorted(first[1:]) == sorted(terms[done:end])
        from_start = sorted(first) == sorted(terms[:end])
        if from_value or from_start:
            return True, end
    return False, done


def partial_sum_truth(problem_meta: dict[str, Any], gold: str | None, steps: list[str]) -> StepTruth | None:
    """Exact labels of `steps` for a problem whose metadata holds a +/- `expression`; None otherwise.

    >>> meta = {"metadata": {"expression": "4 - 1 - 7"}}
    >>> partial_sum_truth(meta, "-4", ["4 - 1 = 3", "3 - 7 = -4", "Answer: -4"])
    StepTruth(labels=[True, True, True], first_error=None)
    >>> partial_sum_truth(meta, "-4", ["4 - 1 = 3", "3 + 7 = 10", "Answer: 10"])
    StepTruth(labels=[True, False, False], first_error=1)
    """
    terms = signed_terms(str((problem_meta.get("metadata") or {}).get("expression") or ""))
    if not terms or gold is None:
        return None
    gold_terms = signed_terms(str(gold))
    if gold_terms is None or len(gold_terms) != 1:
        return None
    done, labels, ok = 0, [], True
    for step in steps:
        valid, done = _step_valid(step, terms, done, gold_terms[0])
        ok = ok and valid
        labels.append(ok)
    first = next((i for i, x in enumerate(labels) if not x), None)
    return StepTruth(labels, first)


TruthFn = Callable[[dict[str, Any], "str | None", list[str]], "StepTruth | None"]

# task name -> exact step truth; a task may instead define its own `step_truth(meta, gold, steps)` method.
STEP_TRUTHS: dict[str, TruthFn] = {"chain_sum": partial_sum_truth, "basic_arithmetic": partial_sum_truth}


def step_truth_for(task: Any) -> TruthFn | None:
    """The exact per-step truth of `task`: its own `step_truth` attribute, else `STEP_TRUTHS[task.name]`."""
    own = getattr(task, "step_truth", None)
    return own if callable(own) else STEP_TRUTHS.get(getattr(task, "name", ""))
