"""`adaptive_consistency` (Aggarwal et al. 2023): sample in batches, stop once the vote is decided.

Samples are read from the shared pool in order, `batch` at a time (so the first k samples are exactly
the ones self-consistency@k sees). After each batch the equivalence groups' vote counts v1 >= v2 >= ...
(unparsed samples do not vote) give the probability that the leading answer is truly the most likely
one; sampling stops when it reaches `confidence`, or at `max_samples`.

- `beta` rule: with a uniform prior on the top two answers' relative frequency p = p1 / (p1 + p2), the
  posterior is Beta(v1 + 1, v2 + 1) and the stop probability is P(p > 1/2). For integer parameters this
  is a binomial tail, computed exactly: P = P(Binomial(v1 + v2 + 1, 1/2) <= v1).
  With all votes on one answer: P = 1 - 2^-(v1+1), so confidence 0.95 stops at 4 agreeing votes.
- `dirichlet` rule: Dirichlet(v + 1) over the observed answers plus one more category, "an answer not
  seen yet" (count 0, prior 1), so one observed answer is not already certain; P(the leader's
  component is the largest), estimated from `draws` Monte Carlo draws with a fixed seed (reproducible).
  With a single observed answer this equals the beta rule.

Confidence: the final vote share (winning votes / samples read).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from ..core.records import Problem
from . import steps
from .base import STRATEGIES, Context, SamplingFields, StrategyResult
from .self_consistency import decide


class AdaptiveConsistencyConfig(SamplingFields):
    batch: int = Field(2, ge=1, description="Samples drawn per step.")
    max_samples: int = Field(16, ge=1, description="Most samples per problem (the fixed-k budget it is compared with).")
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="Stop when P(leader is the majority) reaches this.")
    rule: Literal["beta", "dirichlet"] = Field(
        "beta", description="Stopping rule: `beta` (top two, exact) or `dirichlet` (all answers, Monte Carlo).")
    draws: int = Field(4000, ge=100, description="Monte Carlo draws of the dirichlet rule.")


def beta_stop_probability(counts: Sequence[int]) -> float:
    """P(p1 > p2) under Beta(v1 + 1, v2 + 1) for the two largest counts (0.0 with no votes).

    >>> beta_stop_probability([4]), beta_stop_probability([3])
    (0.96875, 0.9375)
    >>> beta_stop_probability([2, 2])
    0.5
    """
    ranked = sorted((int(c) for c in counts if c > 0), reverse=True) + [0, 0]
    v1, v2 = ranked[0], ranked[1]
    if v1 == 0:
        return 0.0
    m = v1 + v2 + 1
    return sum(math.comb(m, j) for j in range(v1 + 1)) / 2 ** m


def dirichlet_stop_probability(counts: Sequence[int], draws: int = 4000, seed: int = 0) -> float:
    """P(the leader's component is the largest) under Dirichlet(counts + 1, 1), by Monte Carlo.

    The last component stands for answers not seen yet.

    >>> round(dirichlet_stop_probability([2], draws=20000), 2)    # = beta rule: 1 - 2^-3
    0.88
    >>> round(dirichlet_stop_probability([3, 3], seed=1), 1)
    0.5
    """
    counts = [int(c) for c in counts if c > 0]
    if not counts:
        return 0.0
    leader = int(np.argmax(counts))
    alpha = np.asarray(counts + [0], dtype=float) + 1.0
    samples = np.random.default_rng(seed).dirichlet(alpha, size=draws)
    return float(np.mean(np.argmax(samples, axis=1) == leader))


def stop_probability(counts: Sequence[int], cfg: AdaptiveConsistencyConfig, seed: int = 0) -> float:
    if cfg.rule == "beta":
        return beta_stop_probability(counts)
    return dirichlet_stop_probability(counts, cfg.draws, seed)


def run(cfg: AdaptiveConsistencyConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    taken = {p.id: 0 for p in problems}
    history: dict[str, list[float]] = {p.id: [] for p in problems}
    active = list(problems)
    while active:
        k = {p.id: min(cfg.max_samples, taken[p.id] + cfg.batch) for p in active}
        for size in sorted(set(k.values())):
            group = [p for p in active if k[p.id] == size]
            steps.sample(ctx, group, size, cfg.temperature, cfg.top_p, cfg.max_new_tokens)
        still = []
        for p in active:
            taken[p.id] = k[p.id]
            samples = steps.sample(ctx, [p], taken[p.id], cfg.temperature, cfg.top_p, cfg.max_new_tokens)[0]
            counts = [len(g.members) for g in steps.majority(steps.extract(samples), None, cfg.equivalence).groups]
            prob = stop_probability(counts, cfg, seed=ctx.seed + taken[p.id])
            history[p.id].append(prob)
            if prob < cfg.confidence and taken[p.id] < cfg.max_samples:
                still.append(p)
        active = still
    results = []
    for p in problems:
        samples = steps.sample(ctx, [p], taken[p.id], cfg.temperature, cfg.top_p, cfg.max_new_tokens)[0]
        result, _ = decide(p, samples, None, cfg.equivalence)
        result.extra.update({"samples_used": taken[p.id], "stop_probabilities": history[p.id],
                             "stopped_early": taken[p.id] < cfg.max_samples})
        results.append(result)
    return results


STRATEGIES.register("adaptive_consistency", (AdaptiveConsistencyConfig, run))
