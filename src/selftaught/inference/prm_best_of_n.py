"""`prm_best_of_n`: sample n whole solutions, score their steps with a process reward model, keep the best.

Each sample is split into steps at the task's separator (`tasks.steps.split_steps`), the step scorer
`prm` scores every step, and `aggregate` (min | prod | last) makes one value per sample; the highest
wins (ties: the earliest sample). Samples come from the context's shared pool, so they are the very
samples self-consistency@n and best-of-n read. Confidence: the winner's aggregate score.
Tokens: `tokens` the generated ones; `extra.scored_tokens` the solution tokens the step scorer read.
"""

from __future__ import annotations

from ..core.records import Problem, Sample
from . import steps
from .base import STRATEGIES, Context, SampledConfig, StrategyResult
from .prefix import count_tokens
from .step_search import PRMFields, solution_steps
from ..scoring.step_scorers import aggregate


class PRMBestOfNConfig(PRMFields, SampledConfig):
    pass


def step_values(cfg: PRMFields, ctx: Context, problems: list[Problem],
                groups: list[list[Sample]]) -> tuple[list[list[list[float]]], list[list[float]], list[int]]:
    """Per problem: each sample's step scores, its aggregate value, and the solution tokens scored."""
    flat_p = [p for p, g in zip(problems, groups) for _ in g]
    flat_steps = solution_steps(ctx, [s for g in groups for s in g])
    scored = [(i, s) for i, s in enumerate(flat_steps) if s]
    values = ctx.step_scorer(cfg.prm).step_scores([flat_p[i] for i, _ in scored], [s for _, s in scored]) if scored else []
    per_sample: list[list[float]] = [[] for _ in flat_steps]
    for (i, s), v in zip(scored, values):
        if len(v) != len(s):
            raise RuntimeError(f"step scorer {cfg.prm} returned {len(v)} scores for {len(s)} steps.")
        per_sample[i] = [float(x) for x in v]
    out_scores, out_values, out_tokens, start = [], [], [], 0
    for g in groups:
        chunk = per_sample[start:start + len(g)]
        out_scores.append(chunk)
        out_values.append([aggregate(c, cfg.aggregate) for c in chunk])
        out_tokens.append(count_tokens(ctx.generator, [s.text for s in g]))
        start += len(g)
    return out_scores, out_values, out_tokens


def run(cfg: PRMBestOfNConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    all_scores, all_values, scored = step_values(cfg, ctx, problems, groups)
    results = []
    for problem, samples, scores, values, n_scored in zip(problems, groups, all_scores, all_values, scored):
        answers = steps.extract(samples)
        best = steps.argmax(values)
        trace = [steps.sample_event(s, a, score=v, step_scores=sc, chosen=(i == best))
                 for i, (s, a, v, sc) in enumerate(zip(samples, answers, values, scores))]
        extra = {"prm": cfg.prm, "aggregate": cfg.aggregate, "chosen": best, "scored_tokens": n_scored,
                 "generated_tokens": steps.tokens(samples)}
        results.append(StrategyResult(problem.id, answers[best], values[best], samples[best].text, trace,
                                      steps.tokens(samples), extra))
    return results


STRATEGIES.register("prm_best_of_n", (PRMBestOfNConfig, run))
