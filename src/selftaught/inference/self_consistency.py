"""`self_consistency` (Wang et al. 2023): sample n, extract answers, majority vote (maj@n).

Answers are grouped by equivalence (`equivalence`, math-verify for math); unparsed samples do not
vote. Ties go to the answer seen first in sample order (reproducible). The final text is the first
sample of the winning group. Confidence: the vote share, winning votes / n (unparsed samples count
in n).
"""

from __future__ import annotations

from ..core.records import Problem, Sample
from ..scoring import Vote
from . import steps
from .base import STRATEGIES, Context, SampledConfig, StrategyResult


class SelfConsistencyConfig(SampledConfig):
    pass


def decide(problem: Problem, samples: list[Sample], weights: list[float] | None, equivalence: str,
           extra_events: list[dict] | None = None) -> tuple[StrategyResult, Vote]:
    """One problem's vote over its samples -> result (used by weighted_vote and gated_refine too)."""
    answers = steps.extract(samples)
    v = steps.majority(answers, weights, equivalence)
    chosen = samples[v.index] if v.index is not None else samples[0]
    trace = [steps.sample_event(s, a, **({"weight": w} if weights is not None else {}))
             for s, a, w in zip(samples, answers, weights or [None] * len(samples))]
    extra = {"vote_share": v.share, "n_groups": len(v.groups), "n_samples": len(samples),
             "groups": [{"answer": g.answer, "members": g.members, "weight": g.weight} for g in v.groups]}
    result = StrategyResult(problem.id, v.answer, v.share, chosen.text, trace + (extra_events or []),
                            steps.tokens(samples), extra)
    return result, v


def run(cfg: SelfConsistencyConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    return [decide(p, samples, None, cfg.equivalence)[0] for p, samples in zip(problems, groups)]


STRATEGIES.register("self_consistency", (SelfConsistencyConfig, run))
