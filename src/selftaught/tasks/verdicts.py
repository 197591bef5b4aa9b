"""The verdicts a sample gets beyond its task's own: `conflicting` and `truncated`.

A task scores a completion's text (`Task.score`). Two things only the sample knows are settled here,
for every task alike (reasoning-gym, JSONL, a user's callable):

- **Two different final answers** (`tasks.extract.has_conflict`): a model that does not stop cleanly
  invents a further turn with an answer of its own, and the last-answer rule would score that one.
  `multiple_answers` (recipe key `task.multiple_answers`) decides: `verdict` (the default) gives the
  verdict `conflicting` with reward 0; `first` scores the text up to the end of the first answer;
  `last` scores it as the task does (the last answer). Either way `conflict_rate` counts them.
- **Cut at the token limit** (`finish_reason == "length"`) with no finished answer (the task found
  none, or the last answer line was still being written when the text stopped) and not correct: the
  verdict `truncated` (the task's reward is kept),
  so a too-small `max_new_tokens` shows as such instead of as wrong answers. `truncation_warning` says
  when more than 10% of a phase's samples are truncated, naming the key to raise.

`verdict_rates` gives the metrics the eval and rollout report from these.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from .extract import answer_spans, has_conflict

MULTIPLE_ANSWERS = ("verdict", "first", "last")
TRUNCATION_WARN_SHARE = 0.10
DEFAULT_MAX_NEW_TOKENS = 128
REASONING_ROOM = 96  # tokens of working before the answer line, on top of the answer itself


def _multiline(problem: Problem) -> bool:
    """Answers that span lines (grids, move lists) are read as blocks, as the reasoning-gym task does."""
    return "\n" in (problem.answer or "")


def score_sample(task: Any, problem: Problem, sample: Sample, multiple_answers: str = "verdict") -> Score:
    """The task's score of `sample.text`, then `conflicting` / `truncated` as the module docstring says."""
    if multiple_answers not in MULTIPLE_ANSWERS:
        raise ConfigError(f"task.multiple_answers must be one of {', '.join(MULTIPLE_ANSWERS)}, "
                          f"got {multiple_answers!r}.")
    text, multiline = sample.text, _multiline(problem)
    spans = answer_spans(text, multiline)
    conflict = has_conflict(text, multiline)
    if conflict and multiple_answers == "first":
        text = text[:spans[0][1]]
    score = replace(task.score(problem, text), sample_id=sample.id)
    if conflict and multiple_answers == "verdict":
        score = replace(score, verdict="conflicting", reward=0.0)
    unfinished = score.verdict == "unparsed" or (spans and spans[-1][1] >= len(sample.text))
    if sample.finish_reason == "length" and not score.correct and unfinished:
        score = replace(score, verdict="truncated")
    return score


def verdict_rates(problems: Sequence[Problem], samples: Sequence[Sample],
                  scores: Sequence[Score]) -> dict[str, float]:
    """`truncated_rate` (verdict truncated), `cut_rate` (any sample stopped by the token limit, answer or
    not) and `conflict_rate` (two different final answers, whatever `multiple_answers` made of them)."""
    if not samples:
        return {"truncated_rate": 0.0, "cut_rate": 0.0, "conflict_rate": 0.0}
    by_id = {p.id: p for p in problems}
    n = len(samples)
    conflicts = sum(has_conflict(s.text, _multiline(by_id[s.problem_id]) if s.problem_id in by_id else False)
                    for s in samples)
    return {"truncated_rate": sum(sc.verdict == "truncated" for sc in scores) / max(len(scores), 1),
            "cut_rate": sum(s.finish_reason == "length" for s in samples) / n,
            "conflict_rate": conflicts / n}


def truncation_warning(scores: Sequence[Score], key: str, max_new_tokens: int | None) -> str | None:
    """A warning when more than 10% of `scores` are `truncated`, naming the recipe `key` to raise; else None.

    >>> from selftaught.core.records import Score
    >>> print(truncation_warning([Score("a", None, "truncated", 0.0)], "eval.max_new_tokens", 32))
    100% of the completions (1 of 1) were cut at the token limit (32) before their answer: raise eval.max_new_tokens.
    """
    cut = sum(sc.verdict == "truncated" for sc in scores)
    if not scores or cut / len(scores) <= TRUNCATION_WARN_SHARE:
        return None
    limit = f" ({max_new_tokens})" if max_new_tokens is not None else ""
    return (f"{cut / len(scores):.0%} of the completions ({cut} of {len(scores)}) were cut at the token limit"
            f"{limit} before their answer: raise {key}.")


def answer_budget(answers: Sequence[str]) -> int:
    """A `max_new_tokens` with room for the longest of `answers` (one token a character: small models'
    tokenizers split digits, so numbers and lists take about that) after `REASONING_ROOM` tokens of
    working; at least the default 128, a multiple of 32.

    >>> answer_budget(["12", "7"]), answer_budget(["[" + ", ".join(["'-51.25'"] * 12) + "]"])
    (128, 224)
    """
    need = REASONING_ROOM + max((len(a) for a in answers), default=0)
    return max(DEFAULT_MAX_NEW_TOKENS, -(-need // 32) * 32)


def resolve_max_new_tokens(value: int | None, task: Any) -> int:
    """The recipe's `max_new_tokens` when set, else the task's own (`task.max_new_tokens`), else 128."""
    if value is not None:
        return value
    return getattr(task, "max_new_tokens", None) or DEFAULT_MAX_NEW_TOKENS


def section_name(params: Any) -> str:
    """The recipe section whose `max_new_tokens` set `params`: `eval` (greedy) or `sampling`."""
    return "eval" if params.greedy else "sampling"
