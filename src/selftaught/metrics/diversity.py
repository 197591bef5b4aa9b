"""Exploration: how varied a model's n attempts per problem are (B-STaR, Zeng et al. 2025, Sec. 3).

B-STaR watches exploration collapse over rounds: the number of distinct correct answers and of
distinct correct solutions per problem falls, and sampling entropy drops. These functions measure
that from one round's samples, problem by problem, and average over problems.

All per-problem inputs are lists of lists: one inner list per problem, one entry per sample.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from ..core.records import Sample

ENTROPY_KEYS = ("entropy", "mean_entropy", "token_entropy")  # Sample.stats keys read, first found


def normalize_ws(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends.

    >>> normalize_ws("  x =\\n 1\\t+ 1 ")
    'x = 1 + 1'
    """
    return re.sub(r"\s+", " ", text).strip()


def _mean_over_problems(values: Iterable[float]) -> float:
    vals = list(values)
    if not vals:
        raise ValueError("needs at least one problem.")
    return float(np.mean(vals))


def distinct_answers(answers_per_problem: Sequence[Sequence[str | None]]) -> float:
    """Mean number of distinct parsed answers per problem (None does not count).

    >>> distinct_answers([["4", " 4", "5", None], [None]])
    1.0
    """
    return _mean_over_problems(len({a.strip() for a in ans if a is not None})
                               for ans in answers_per_problem)


def distinct_correct_answers(answers_per_problem: Sequence[Sequence[str | None]],
                             correct_per_problem: Sequence[Sequence[bool]]) -> float:
    """Mean number of distinct answers among the correct samples of each problem.

    Usually 0 or 1 (one right answer), more when the verifier accepts equivalent forms ("0.5", "1/2").

    >>> distinct_correct_answers([["1/2", "0.5", "3"], ["7"]], [[True, True, False], [False]])
    1.0
    """
    return _mean_over_problems(
        len({a.strip() for a, ok in zip(ans, oks) if ok and a is not None})
        for ans, oks in zip(answers_per_problem, correct_per_problem))


def distinct_correct_texts(texts_per_problem: Sequence[Sequence[str]],
                           correct_per_problem: Sequence[Sequence[bool]]) -> float:
    """Mean number of distinct correct completions per problem, after whitespace normalisation.

    B-STaR's headline exploration measure ("Pass@K-S": distinct correct responses among K samples).

    >>> distinct_correct_texts([["a b", "a  b", "c", "d"]], [[True, True, True, False]])
    2.0
    """
    return _mean_over_problems(
        len({normalize_ws(t) for t, ok in zip(texts, oks) if ok})
        for texts, oks in zip(texts_per_problem, correct_per_problem))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """The n-grams of a token list, in order.

    >>> ngrams(["a", "b", "c"], 2)
    [('a', 'b'), ('b', 'c')]
    """
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n_problem(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / all n-grams over all completions of one problem (whitespace tokens).

    1.0 when no n-gram repeats, near 1/len(texts) when every completion is the same text; 0.0 when
    the completions have no n-gram at all (all shorter than n tokens).

    >>> distinct_n_problem(["a b c", "a b d"], 2)  # ab bc ab bd: 3 unique of 4
    0.75
    """
    if n < 1:
        raise ValueError(f"distinct-n needs n >= 1, got {n}.")
    grams = [g for t in texts for g in ngrams(t.split(), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def distinct_n(texts_per_problem: Sequence[Sequence[str]], n: int) -> float:
    """distinct-n (Li et al. 2016) per problem, averaged over problems that have samples.

    >>> distinct_n([["a b c", "a b d"], ["x y", "x y"]], 2)
    0.625
    """
    return _mean_over_problems(distinct_n_problem(t, n) for t in texts_per_problem if len(t))


def sample_entropy(sample: Sample) -> float | None:
    """The sample's mean per-token entropy from `Sample.stats`, or None when the backend gave none."""
    for key in ENTROPY_KEYS:
        if key in sample.stats and sample.stats[key] is not None:
            return float(sample.stats[key])
    return None


def mean_entropy(samples: Sequence[Sample]) -> float | None:
    """Mean over samples of their mean per-token entropy; None when no sample carries it."""
    vals = [v for v in map(sample_entropy, samples) if v is not None]
    return float(np.mean(vals)) if vals else None


def mean_stat(samples: Sequence[Sample], key: str) -> float | None:
    """Mean of `Sample.stats[key]` over the samples that carry it; None when none does.

    >>> mean_stat([Sample("p", "x", 1, stats={"self_certainty": 2.0}), Sample("p", "y", 1)], "self_certainty")
    2.0
    """
    vals = [float(s.stats[key]) for s in samples if s.stats.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def token_logprob(sample: Sample) -> float | None:
    """The sample's per-token log-probability: logprob / n_tokens, else `stats["mean_logprob"]`."""
    if sample.logprob is not None and sample.n_tokens > 0:
        return sample.logprob / sample.n_tokens
    value = sample.stats.get("mean_logprob")
    return None if value is None else float(value)


def mean_token_logprob(samples: Sequence[Sample]) -> float | None:
    """Mean over samples of their per-token log-probability; None when no sample has one.

    >>> mean_token_logprob([Sample("p", "x", 4, logprob=-2.0), Sample("p", "y", 2, logprob=-2.0)])
    -0.75
    """
    vals = [v for v in map(token_logprob, samples) if v is not None]
    return float(np.mean(vals)) if vals else None


def mean_completion_length(samples: Sequence[Sample]) -> float | None:
    """Mean `n_tokens` over samples; None for no samples.

    >>> mean_completion_length([Sample("p", "x", 4), Sample("p", "y", 2)])
    3.0
    """
    return float(np.mean([s.n_tokens for s in samples])) if len(samples) else None
