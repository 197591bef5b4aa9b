"""`greedy`: one temperature-0 decode per problem.

Confidence: exp(mean token log-prob) of the decode (None when the backend gives no log-probs).
"""

from __future__ import annotations

from pydantic import Field

from ..core.records import Problem
from . import steps
from .base import STRATEGIES, Context, StrategyConfig, StrategyResult, sequence_confidence


class GreedyConfig(StrategyConfig):
    max_new_tokens: int = Field(256, ge=1, description="Most tokens generated per answer.")


def run(cfg: GreedyConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, 1, 0.0, 1.0, cfg.max_new_tokens)
    results = []
    for problem, (s,) in zip(problems, groups):
        answer = steps.extract([s])[0]
        results.append(StrategyResult(problem.id, answer, sequence_confidence(s), s.text,
                                      [steps.sample_event(s, answer)], s.n_tokens))
    return results


STRATEGIES.register("greedy", (GreedyConfig, run))
