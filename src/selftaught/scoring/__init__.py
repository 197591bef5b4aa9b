"""Scorers: plain reward functions `fn(problems, samples) -> list[float]` (TRL's reward signature).

| name                   | factory                      | needs                    | range    |
|------------------------|------------------------------|--------------------------|----------|
| `oracle`               | `make_oracle(task)`          | gold answers             | {0, 1}   |
| `logprob`              | `make_mean_logprob()`        | backend log-probs        | (0, 1]   |
| `self_certainty`       | `make_self_certainty()`      | backend per-token stats  | [0, inf) |
| `self_certainty_borda` | `make_self_certainty_borda()`| backend per-token stats  | [0, inf) |
| `judge`                | `make_judge(generator)`      | a model with logits      | [0, 1]   |

`make_scorer(name, task=..., generator=...)` builds one by name. The oracle is an upper bound (it reads
the answer key). `equivalence` holds the answer grouping and the (weighted) vote used by votes.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ConfigError
from ..core.protocols import RewardFn
from .confidence import (borda_weights, make_mean_logprob, make_self_certainty, make_self_certainty_borda,
                         self_certainty_of_logits)
from .equivalence import AnswerGroup, Equivalence, Vote, equivalent, group_answers, looks_mathematical, normalize, vote
from .judge import JUDGE_VERSION, Judge, make_judge, question_of
from .oracle import make_oracle

SCORERS = ("oracle", "logprob", "self_certainty", "self_certainty_borda", "judge")
BOUNDED = {"oracle", "logprob", "judge"}  # scores already in [0, 1], usable as a confidence as they are
BORDA_P = 0.5  # Borda weight exponent: rank r of N weighs (N - r + 1) ** BORDA_P


def make_scorer(name: str, task: Any = None, generator: Any = None, equivalence: Equivalence = "auto",
                borda_p: float = BORDA_P) -> RewardFn:
    """The scorer registered as `name` (see the table above)."""
    if name == "oracle":
        if task is None:
            raise ConfigError("the oracle scorer needs the task (its verifier).")
        return make_oracle(task)
    if name == "logprob":
        return make_mean_logprob()
    if name == "self_certainty":
        return make_self_certainty()
    if name == "self_certainty_borda":
        return make_self_certainty_borda(p=borda_p, equivalence=equivalence)
    if name == "judge":
        if generator is None:
            raise ConfigError("the judge scorer needs a generator (the model that judges).")
        return make_judge(generator)
    raise ConfigError(f"unknown scorer {name!r}; known: {', '.join(SCORERS)}.")


__all__ = [
    "AnswerGroup", "BORDA_P", "BOUNDED", "Equivalence", "JUDGE_VERSION", "Judge", "SCORERS", "Vote", "borda_weights",
    "equivalent", "group_answers", "looks_mathematical", "make_judge", "make_mean_logprob", "make_oracle",
    "make_scorer", "make_self_certainty", "make_self_certainty_borda", "normalize", "question_of",
    "self_certainty_of_logits", "vote",
]
