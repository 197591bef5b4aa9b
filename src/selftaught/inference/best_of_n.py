"""`best_of_n`: sample n, score each sample, keep the highest-scoring one (ties: the earliest sample).

Scorers: `oracle` (the task's verifier with the answer key: an UPPER BOUND, not a method), `logprob`
(mean token log-prob), `self_certainty` (Kang et al. 2025), `self_certainty_borda` (each sample scored
by its answer group's Borda total, so the argmax is the Borda-vote winner), `judge` (the model asked
whether the solution is correct; P(yes)).

Confidence: the chosen sample's score when the scorer's range is [0, 1] (oracle, logprob, judge);
otherwise (self-certainty, Borda) the chosen answer's share of the total score over the n samples.
"""

from __future__ import annotations

from pydantic import Field

from ..core.records import Problem
from ..scoring import BORDA_P, borda_weights, equivalent, scorer_spec
from . import steps
from .base import STRATEGIES, Context, SampledConfig, ScorerField, StrategyResult


class BestOfNConfig(SampledConfig):
    scorer: ScorerField = Field("self_certainty",
                               description="Scorer whose argmax is kept (`oracle` is an upper bound).")


def choose(answers: list[str | None], scores: list[float], scorer: str, equivalence: str) -> tuple[int, float]:
    """(index of the best sample, confidence) for one problem; see the module docstring.

    >>> choose(["4", "5", "4"], [1.0, 3.0, 2.0], "self_certainty", "auto")   # 5 wins; 3 of 6
    (1, 0.5)
    >>> choose(["4", "5"], [0.9, 0.2], "judge", "auto")
    (0, 0.9)
    """
    best = steps.argmax(scores)
    confidence = scorer_spec(scorer).confidence
    if confidence == "value":  # bounded scores: the value itself
        return best, float(scores[best])
    if confidence == "total":  # each sample carries its group's total (Borda); all weights sum to this
        total = sum(borda_weights([0.0] * len(scores), BORDA_P))
        return best, float(scores[best] / total)
    chosen = answers[best]
    total = sum(max(0.0, v) for v in scores)
    same = sum(max(0.0, v) for a, v in zip(answers, scores)
               if chosen is not None and a is not None and equivalent(chosen, a, equivalence))
    return best, float(same / total) if total > 0 else 0.0


def run(cfg: BestOfNConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    groups = steps.sample(ctx, problems, cfg.n, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    values = steps.score_all(ctx.scorer(cfg.scorer, cfg.equivalence), problems, groups)
    results = []
    for problem, samples, scores in zip(problems, groups, values):
        answers = steps.extract(samples)
        best, confidence = choose(answers, scores, cfg.scorer, cfg.equivalence)
        trace = [steps.sample_event(s, a, score=v, chosen=(i == best))
                 for i, (s, a, v) in enumerate(zip(samples, answers, scores))]
        extra = {"scorer": cfg.scorer, "upper_bound": cfg.scorer == "oracle", "chosen": best}
        results.append(StrategyResult(problem.id, answers[best], confidence, samples[best].text, trace,
                                      steps.tokens(samples), extra))
    return results


STRATEGIES.register("best_of_n", (BestOfNConfig, run))
