"""The small steps strategies are composed of (lm-eval's filter chains, spelled as functions).

    sample -> extract -> vote          is self-consistency (maj@k)
    sample -> score -> vote(weights)   is a weighted vote
    sample -> score -> argmax          is best-of-N

Each step is a plain function over plain records and is tested alone.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..core.protocols import RewardFn
from ..core.records import Problem, Sample
from ..scoring import Equivalence, Vote, vote
from ..tasks.extract import extract_answer
from .base import Context


def sample(ctx: Context, problems: list[Problem], k: int, temperature: float, top_p: float,
           max_new_tokens: int) -> list[list[Sample]]:
    """The first `k` samples of each problem from the context's shared pool for these settings."""
    return ctx.pool(temperature, top_p, max_new_tokens).take(problems, k)


def extract(samples: Sequence[Sample]) -> list[str | None]:
    """The final answer of each sample (None: the sample states none).

    >>> extract([Sample("p", "1+1 = 2\\nAnswer: 2", 5), Sample("p", "no idea", 2)])
    ['2', None]
    """
    return [extract_answer(s.text) for s in samples]


def score(scorer: RewardFn, problem: Problem, samples: Sequence[Sample]) -> list[float]:
    """One scorer value per sample of one problem (the scorer signature `fn(problems, samples)`, problem repeated)."""
    return list(scorer([problem] * len(samples), list(samples)))


def score_all(scorer: RewardFn, problems: list[Problem], groups: list[list[Sample]]) -> list[list[float]]:
    """Scorer values for every problem's samples in one call (lets a judge batch across problems)."""
    flat_p = [p for p, g in zip(problems, groups) for _ in g]
    flat_s = [s for g in groups for s in g]
    values = list(scorer(flat_p, flat_s)) if flat_s else []
    out, start = [], 0
    for g in groups:
        out.append(values[start:start + len(g)])
        start += len(g)
    return out


def majority(answers: Sequence[str | None], weights: Sequence[float] | None = None,
             equivalence: Equivalence = "auto") -> Vote:
    """The (weighted) vote over equivalence groups; ties go to the earliest-seen answer.

    >>> majority(["1/2", "3", "0.5"]).answer, majority(["1/2", "3", "0.5"]).share
    ('1/2', 0.6666666666666666)
    """
    return vote(answers, weights, equivalence)


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value; ties go to the earliest.

    >>> argmax([0.2, 0.9, 0.9])
    1
    """
    if not values:
        raise ValueError("argmax of no values.")
    return min(range(len(values)), key=lambda i: (-values[i], i))


def tokens(samples: Sequence[Sample]) -> int:
    """Generated tokens of these samples."""
    return sum(s.n_tokens for s in samples)


def sample_event(s: Sample, answer: str | None, step: str = "sample", **extra: Any) -> dict[str, Any]:
    """A trace record for one generated text (sample, critique or revision)."""
    event = {"step": step, "id": s.id, "index": s.index, "text": s.text, "n_tokens": s.n_tokens,
             "finish_reason": s.finish_reason, "answer": answer}
    if s.logprob is not None:
        event["logprob"] = s.logprob
    if s.stats:
        event["stats"] = dict(s.stats)
    event.update(extra)
    return event
