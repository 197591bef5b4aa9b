"""`gated_refine` (MAgICoRe's easy/hard split): vote first; refine only the problems the vote is unsure of.

Self-consistency over n samples gives each problem an answer and a vote share. Problems whose share is
at least `threshold` keep the vote ("easy"). The others ("hard") go through the self-refine loop
(`self_refine.refine`), starting from the first sample of the winning group, with the same stop rules
and the optional verifier signal. Tokens: the n samples plus every critique and revision.

Confidence: the vote share for easy problems; for refined ones, the share of the n samples whose
answer agrees with the refined answer (0 when the refinement produced an answer no sample gave).
"""

from __future__ import annotations

from pydantic import Field

from ..core.records import Problem
from ..scoring import equivalent
from . import steps
from .base import STRATEGIES, Context, StrategyResult
from .self_consistency import decide
from .self_refine import RefineFields, refine, refine_extra


class GatedRefineConfig(RefineFields):
    n: int = Field(8, ge=1, description="Samples per problem for the first vote.")
    temperature: float = Field(0.7, gt=0.0, description="Sampling temperature of the vote's samples.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="Refine problems whose vote share is below this.")


def run(cfg: GatedRefineConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    voted = [decide(p, samples, None, cfg.equivalence) for p, samples in zip(problems, groups)]
    hard = [i for i, (result, _) in enumerate(voted) if result.confidence < cfg.threshold]
    starts = [groups[i][voted[i][1].index or 0] for i in hard]
    states = refine(ctx, cfg, [problems[i] for i in hard], starts)
    results = [result for result, _ in voted]
    for result in results:
        result.extra.update({"refined": False, "before_text": result.final_text, "before_answer": result.answer})
    for i, start, state in zip(hard, starts, states):
        result, v = voted[i]
        before_answer = steps.extract([start])[0]
        agree = sum(len(g.members) for g in v.groups
                    if state.answer is not None and equivalent(g.answer, state.answer, cfg.equivalence))
        result.extra.update(refine_extra(state, start, before_answer))
        result.extra["vote_share_before"] = v.share
        result.answer, result.final_text = state.answer, state.current.text
        result.confidence = agree / len(groups[i])
        result.trace += state.events
        result.tokens += state.tokens
    return results


STRATEGIES.register("gated_refine", (GatedRefineConfig, run))
