"""Scorers: plain reward functions `fn(problems, samples) -> list[float]` (see `spec`: the project's own
signature; GRPO reaches them through `train.rewards.trl_reward`, an adapter to TRL's shape).

| name                   | factory                      | needs                    | range    |
|------------------------|------------------------------|--------------------------|----------|
| `oracle`               | `make_oracle(task)`          | gold answers             | {0, 1}   |
| `logprob`              | `make_mean_logprob()`        | backend log-probs        | (0, 1]   |
| `self_certainty`       | `make_self_certainty()`      | backend per-token stats  | [0, inf) |
| `self_certainty_borda` | `make_self_certainty_borda()`| backend per-token stats  | [0, inf) |
| `judge`                | `make_judge(generator)`      | a model with logits      | [0, 1]   |
| `verifier`             | `LearnedVerifier(path)`      | option `verifier_path`   | [0, 1]   |
| `prm`, `prm_{min,prod,last}` | `LearnedVerifier(path, agg)` | option `prm_path`  | [0, 1]   |
| `judge_rationale`      | `RationaleJudge(generator)`  | a generator              | [0, 1]   |
| `judge_pairwise`       | `PairwiseJudge(generator)`   | a generator              | [0, 1]   |

Each registers itself in `SCORERS` at the bottom of its module (with whether its values are bounded in
[0, 1]); `make_scorer(name, task=..., generator=...)` builds one by registered name or `module:object`.
The oracle is an upper bound (it reads the answer key). `equivalence` holds the answer grouping and the (weighted) vote used by votes.
"""

from __future__ import annotations

from typing import Any

from ..core.protocols import RewardFn
from .confidence import (borda_weights, make_mean_logprob, make_self_certainty, make_self_certainty_borda,
                         self_certainty_of_logits)
from .equivalence import AnswerGroup, Equivalence, Vote, equivalent, group_answers, looks_mathematical, normalize, vote
from .judge import JUDGE_VERSION, Judge, make_judge, question_of
from .oracle import make_oracle
from .rationale_judge import RATIONALE_JUDGE_VERSION, PairwiseJudge, RationaleJudge, parse_choice, parse_verdict
from .spec import SCORERS, Scorer, as_scorer, scorer_spec

BORDA_P = 0.5  # Borda weight exponent: rank r of N weighs (N - r + 1) ** BORDA_P


def make_scorer(name: str, task: Any = None, generator: Any = None, equivalence: Equivalence = "auto",
                borda_p: float = BORDA_P, **options: Any) -> RewardFn:
    """The scorer registered as `name` (see the table above), or the `module:object` it names.

    `options` reach the scorers that name them (`verifier_path`, `prm_path`: learned verifiers)."""
    return scorer_spec(name).make(task=task, generator=generator, equivalence=equivalence, borda_p=borda_p,
                                  **options)


__all__ = [
    "AnswerGroup", "BORDA_P", "Equivalence", "JUDGE_VERSION", "Judge", "PairwiseJudge", "RATIONALE_JUDGE_VERSION",
    "RationaleJudge", "SCORERS", "parse_choice", "parse_verdict", "Scorer", "Vote", "as_scorer",
    "borda_weights",
    "equivalent", "group_answers", "looks_mathematical", "make_judge", "make_mean_logprob", "make_oracle",
    "make_scorer", "make_self_certainty", "make_self_certainty_borda", "normalize", "question_of",
    "scorer_spec", "self_certainty_of_logits", "vote",
]
