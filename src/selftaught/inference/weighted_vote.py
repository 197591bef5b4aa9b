"""`weighted_vote`: sample n, score each sample, vote with the scores as weights.

Each equivalence group's weight is the sum of its samples' scores; the heaviest group wins (ties: the
answer seen first). Scorers: `logprob` (geometric-mean token probability), `self_certainty`,
`self_certainty_borda` (this *is* the Borda vote of Kang et al. 2025, group totals counted once per
sample), `judge` (P(yes)), `oracle` (upper bound). Confidence: the winner's share of the total weight.
"""

from __future__ import annotations

from pydantic import Field

from ..core.records import Problem
from . import steps
from .base import STRATEGIES, Context, SampledConfig, ScorerField, StrategyResult
from .self_consistency import decide


class WeightedVoteConfig(SampledConfig):
    scorer: ScorerField = Field("self_certainty", description="Scorer whose values weight the votes.")


def run(cfg: WeightedVoteConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    if cfg.scorer == "self_certainty_borda":
        # the Borda scorer returns group totals; vote with each sample's own rank weight instead
        from ..scoring import BORDA_P, borda_weights, make_self_certainty

        plain = make_self_certainty()
        weights = [borda_weights(steps.score(plain, p, g), BORDA_P) for p, g in zip(problems, groups)]
    else:
        weights = steps.score_all(ctx.scorer(cfg.scorer, cfg.equivalence), problems, groups)
    results = []
    for problem, samples, w in zip(problems, groups, weights):
        result, _ = decide(problem, samples, w, cfg.equivalence)
        result.extra["scorer"] = cfg.scorer
        results.append(result)
    return results


STRATEGIES.register("weighted_vote", (WeightedVoteConfig, run))
