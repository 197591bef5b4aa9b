"""The model's own confidence in a sample, as reward functions `fn(problems, samples) -> list[float]`.

- `make_mean_logprob()`: the mean token log-probability of the sample under the model (by default
  returned as `exp(mean log p)`, the geometric-mean token probability in (0, 1], which ranks the same
  and can be used as a vote weight or a confidence);
- `make_self_certainty()`: Kang et al. 2025, "Scalable Best-of-N Selection for Large Language Models
  via Self-Certainty": the mean over generated tokens of KL(U || p_t), the divergence of the
  predicted distribution from uniform over the V vocabulary entries,
  `KL(U || p) = sum_v (1/V) log((1/V) / p_v) = -log V - mean_v log p_v`.
  0 for a uniform distribution, larger when more peaked. `self_certainty_of_logits` computes it from a
  logits tensor; backends record it per sample in `Sample.stats["self_certainty"]`;
- `make_self_certainty_borda(p)`: the same paper's Borda vote. Within each problem the N samples are
  ranked by self-certainty (rank 1 = most certain; equal values keep sample order) and a sample of rank
  r carries the weight `(N - r + 1) ** p`; a sample's reward is the total weight of all samples whose
  answer is equivalent to its own (0 when it has none). So argmax over samples picks the Borda winner.

Confidence scores need backend statistics; a sample without them raises a `SelftaughtError` naming
what is missing rather than scoring it 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import torch

from ..core.errors import SelftaughtError
from ..core.protocols import RewardFn
from ..core.records import Problem, Sample
from .equivalence import Equivalence, group_answers
from .spec import SCORERS, Scorer


def self_certainty_of_logits(logits: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Mean over positions of KL(U || softmax(logits)); `logits` is [T, V] (or [V]), `mask` [T] of 0/1.

    >>> round(self_certainty_of_logits(torch.zeros(3, 5)), 6)          # uniform: 0
    0.0
    >>> round(self_certainty_of_logits(torch.tensor([[0.0, math.log(3.0)]])), 4)  # p=(1/4,3/4)
    0.1438
    """
    logits = logits.float()
    if logits.dim() == 1:
        logits = logits[None, :]
    logp = torch.log_softmax(logits, dim=-1)
    per_token = -math.log(logits.shape[-1]) - logp.mean(dim=-1)
    if mask is None:
        return float(per_token.mean())
    mask = mask.float()
    if float(mask.sum()) == 0:
        raise ValueError("self_certainty_of_logits: the mask selects no position.")
    return float((per_token * mask).sum() / mask.sum())


def _stat(sample: Sample, key: str) -> float:
    if key in sample.stats:
        return float(sample.stats[key])
    if key == "mean_logprob" and sample.logprob is not None and sample.n_tokens > 0:
        return sample.logprob / sample.n_tokens
    raise SelftaughtError(
        f"sample {sample.id} has no `{key}` statistic: this scorer needs a backend that records per-token "
        f"log-probabilities (the hf backend does). Use the oracle or judge scorer instead."
    )


def make_mean_logprob(as_probability: bool = True) -> RewardFn:
    """Mean token log-prob per sample; with `as_probability`, `exp` of it (in (0, 1]).

    >>> s = Sample("p", "Answer: 1", n_tokens=4, logprob=-2.0)
    >>> make_mean_logprob(as_probability=False)([Problem("p", "q")], [s])
    [-0.5]
    >>> [round(x, 4) for x in make_mean_logprob()([Problem("p", "q")], [s])]
    [0.6065]
    """

    def mean_logprob(problems: list[Problem], samples: list[Sample]) -> list[float]:
        values = [_stat(s, "mean_logprob") for s in samples]
        return [math.exp(v) for v in values] if as_probability else values

    return mean_logprob


def make_self_certainty() -> RewardFn:
    """Self-certainty per sample (from `Sample.stats["self_certainty"]`), higher = more confident.

    >>> make_self_certainty()([Problem("p", "q")], [Sample("p", "x", 3, stats={"self_certainty": 2.5})])
    [2.5]
    """

    def self_certainty(problems: list[Problem], samples: list[Sample]) -> list[float]:
        return [_stat(s, "self_certainty") for s in samples]

    return self_certainty


def borda_weights(values: Sequence[float], p: float = 0.5) -> list[float]:
    """`(N - r + 1) ** p` for each value's rank r (1 = largest; ties keep input order).

    >>> borda_weights([0.1, 0.9, 0.5], p=1.0)
    [1.0, 3.0, 2.0]
    """
    n = len(values)
    order = sorted(range(n), key=lambda i: (-values[i], i))
    weights = [0.0] * n
    for rank, i in enumerate(order, start=1):
        weights[i] = float((n - rank + 1) ** p)
    return weights


def make_self_certainty_borda(p: float = 0.5, equivalence: Equivalence = "auto") -> RewardFn:
    """Borda vote on self-certainty ranks, per problem; each sample gets its answer group's total.

    >>> sc = [Sample("q", "Answer: 4", 2, index=i, stats={"self_certainty": c}) for i, c in enumerate([3.0, 1.0, 2.0])]
    >>> sc[1].text = "Answer: 5"
    >>> make_self_certainty_borda(p=1.0)([Problem("q", "?")] * 3, sc)   # ranks 1,3,2 -> weights 3,1,2
    [5.0, 1.0, 5.0]
    """
    from ..tasks.extract import extract_answer

    if p < 0:
        raise SelftaughtError(f"self_certainty_borda: p must be >= 0, got {p}.")

    def self_certainty_borda(problems: list[Problem], samples: list[Sample]) -> list[float]:
        by_problem: dict[str, list[int]] = defaultdict(list)
        for i, sample in enumerate(samples):
            by_problem[sample.problem_id].append(i)
        rewards = [0.0] * len(samples)
        for positions in by_problem.values():
            weights = borda_weights([_stat(samples[i], "self_certainty") for i in positions], p)
            answers = [extract_answer(samples[i].text) for i in positions]
            for group in group_answers(answers, weights, equivalence):
                for member in group.members:
                    rewards[positions[member]] = group.weight
        return rewards

    return self_certainty_borda


SCORERS.register("logprob", Scorer(make_mean_logprob, bounded=True))
SCORERS.register("self_certainty", Scorer(make_self_certainty))
SCORERS.register("self_certainty_borda", Scorer(
    lambda equivalence="auto", borda_p=0.5: make_self_certainty_borda(p=borda_p, equivalence=equivalence),
    confidence="total"))
