"""`sample`: n samples per problem, reported as pass@k (the oracle ceiling of any selector over them).

The strategy's own answer is the first sample's (a single draw at the temperature: what "sample once"
gets); the runner reports pass@k for k = 1, 2, 4, ... n from every sample's verdict.
Confidence: exp(mean token log-prob) of the first sample.
"""

from __future__ import annotations

from ..core.records import Problem
from . import steps
from .base import STRATEGIES, Context, SampledConfig, StrategyResult, sequence_confidence


class SampleConfig(SampledConfig):
    pass


def run(cfg: SampleConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    results = []
    for problem, samples in zip(problems, groups):
        answers = steps.extract(samples)
        trace = [steps.sample_event(s, a) for s, a in zip(samples, answers)]
        results.append(StrategyResult(problem.id, answers[0], sequence_confidence(samples[0]), samples[0].text,
                                      trace, steps.tokens(samples), {"pass_at_k": True}))
    return results


STRATEGIES.register("sample", (SampleConfig, run))
