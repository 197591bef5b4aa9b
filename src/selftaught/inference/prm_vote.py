"""`prm_vote`: sample n solutions, weight each by its aggregate process-reward score, vote.

Steps, scores and aggregation as in `prm_best_of_n` (same shared samples); each equivalence group's
weight is the sum of its samples' aggregate step scores and the heaviest group wins (ties: the
answer seen first), search-and-learn's weighted majority. Confidence: the winner's share of the weight.
Tokens: `tokens` the generated ones; `extra.scored_tokens` the solution tokens the step scorer read.
"""

from __future__ import annotations

from ..core.records import Problem
from . import steps
from .base import STRATEGIES, Context, SampledConfig, StrategyResult
from .prm_best_of_n import step_values
from .self_consistency import decide
from .step_search import PRMFields


class PRMVoteConfig(PRMFields, SampledConfig):
    pass


def run(cfg: PRMVoteConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    _, all_values, scored = step_values(cfg, ctx, problems, groups)
    results = []
    for problem, samples, values, n_scored in zip(problems, groups, all_values, scored):
        result, _ = decide(problem, samples, values, cfg.equivalence)
        result.extra.update({"prm": cfg.prm, "aggregate": cfg.aggregate, "scored_tokens": n_scored,
                             "generated_tokens": steps.tokens(samples)})
        results.append(result)
    return results


STRATEGIES.register("prm_vote", (PRMVoteConfig, run))
