"""pass@k, maj@k and mean@n: how often n sampled attempts per problem contain, or vote for, a right answer.

pass@k is the unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models Trained on
Code"): from n samples of which c are correct, the chance that a random k-subset holds at least one
correct sample, 1 - C(n-c, k) / C(n, k), computed as a product so it never overflows.

maj@k (self-consistency, Wang et al. 2023) takes the most frequent extracted answer among the first
k samples and asks whether it is right. Answers are counted and checked up to equivalence
(`scoring.equivalence`: `1,000` and `1000.0` are one answer), the same rule every vote uses.
Unparsed samples (answer None) do not vote; a tie goes to the answer that appeared first, so the
result is reproducible.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import TYPE_CHECKING, Collection, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    from ..scoring.equivalence import Equivalence

Gold = Union[str, Collection[str], None]  # one right answer, a set of accepted answers, or unknown


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with `n` samples, `c` of them correct.

    pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k / i).

    >>> pass_at_k(4, 1, 1)
    0.25
    >>> pass_at_k(4, 1, 4)
    1.0
    >>> round(pass_at_k(5, 2, 2), 4)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    0.7
    """
    if not (0 <= c <= n):
        raise ValueError(f"pass_at_k needs 0 <= c <= n, got n={n}, c={c}.")
    if not (1 <= k <= n):
        raise ValueError(f"pass_at_k needs 1 <= k <= n, got k={k} with n={n} samples.")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_curve(per_problem_counts: Sequence[int], n: int | Sequence[int],
                    ks: Sequence[int]) -> dict[int, float]:
    """Mean pass@k over problems for each k in `ks`.

    `per_problem_counts[i]` is the number of correct samples of problem i; `n` is the number of
    samples per problem, one int for all or one per problem.

    >>> pass_at_k_curve([0, 2, 4], 4, [1, 4])
    {1: 0.5, 4: 0.6666666666666666}
    """
    counts = list(per_problem_counts)
    if not counts:
        raise ValueError("pass_at_k_curve needs at least one problem.")
    ns = [n] * len(counts) if isinstance(n, int) else list(n)
    if len(ns) != len(counts):
        raise ValueError(f"pass_at_k_curve: {len(counts)} counts but {len(ns)} sample sizes.")
    return {k: float(np.mean([pass_at_k(ni, ci, k) for ni, ci in zip(ns, counts)])) for k in ks}


def mean_at_n(correct_per_problem: Sequence[Sequence[bool]]) -> float:
    """mean@n: the fraction of correct samples, averaged per problem and then over problems.

    With the same n for every problem this is the plain fraction of all samples that are correct.
    Problems without samples are skipped.

    >>> mean_at_n([[True, False, False, False], [True, True, True, True]])
    0.625
    """
    means = [sum(map(bool, row)) / len(row) for row in correct_per_problem if len(row)]
    if not means:
        raise ValueError("mean_at_n needs at least one problem with samples.")
    return float(np.mean(means))


def majority_vote(answers: Sequence[str | None], mode: Equivalence = "auto") -> tuple[str | None, int]:
    """(answer, votes): the most frequent answer up to equivalence (`scoring.equivalence.majority`).

    None values do not vote; ties go to the answer seen first; the answer is the first spelling seen.

    >>> majority_vote(["4", None, " 5", "5", "4"])
    ('4', 2)
    >>> majority_vote(["1,000", "7", "1000.0"]), majority_vote([None, None])
    (('1,000', 2), (None, 0))
    """
    from ..scoring.equivalence import majority  # here: the scoring package imports torch, metrics need not

    label, members = majority(answers, mode)
    return label, len(members)


def is_right(answer: str | None, gold: Gold, mode: Equivalence = "auto") -> bool:
    """Whether `answer` is equivalent to `gold` (a string, or any of a collection of accepted strings).

    >>> is_right(" 4", "4"), is_right("4.0", {"4", "four"}), is_right(None, "4"), is_right("8 legs", "8")
    (True, True, False, True)
    """
    if answer is None or gold is None:
        return False
    from ..scoring.equivalence import equivalent  # here: the scoring package imports torch, metrics need not

    golds = [gold] if isinstance(gold, str) else list(gold)
    return any(equivalent(answer, g, mode) for g in golds)


def maj_at_k(answers_per_problem: Sequence[Sequence[str | None]], gold_per_problem: Sequence[Gold],
             k: int, mode: Equivalence = "auto") -> float:
    """maj@k: majority vote over the first k answers of each problem, right or wrong, averaged.

    A problem with no parsed answer among its first k counts as wrong. Problems whose gold is None
    (label-free) cannot be scored and are skipped. `gold` may be a set of accepted answer strings:
    pass the extracted answers a verifier judged correct to get math equivalence for free.

    >>> maj_at_k([["4", "5", "5"], ["1", None, "2"]], ["5", "2"], k=3)
    0.5
    """
    if k < 1:
        raise ValueError(f"maj_at_k needs k >= 1, got {k}.")
    _check_same_length(answers_per_problem, gold_per_problem)
    hits = [is_right(majority_vote(list(ans)[:k], mode)[0], gold, mode)
            for ans, gold in zip(answers_per_problem, gold_per_problem) if gold is not None]
    if not hits:
        raise ValueError("maj_at_k needs at least one problem with a gold answer.")
    return float(np.mean(hits))


def maj_at_k_expected(answers_per_problem: Sequence[Sequence[str | None]],
                      gold_per_problem: Sequence[Gold], k: int, max_subsets: int = 1000,
                      seed: int = 0, mode: Equivalence = "auto") -> float:
    """maj@k averaged over k-subsets of each problem's n answers instead of only the first k.

    Exact (all C(n, k) subsets, each in sample order) when there are at most `max_subsets` of
    them; otherwise the mean over `max_subsets` random subsets drawn with `seed`. A lower-variance
    estimate than `maj_at_k` when n > k, in the spirit of unbiased pass@k.

    >>> maj_at_k_expected([["4", "5", "5"]], ["5"], k=2)  # subsets 45, 45 (ties go to "4"), 55
    0.3333333333333333
    """
    _check_same_length(answers_per_problem, gold_per_problem)
    rng = random.Random(seed)
    per_problem = []
    for ans, gold in zip(answers_per_problem, gold_per_problem):
        if gold is None:
            continue
        ans = list(ans)
        n = len(ans)
        if n < k:
            raise ValueError(f"maj_at_k_expected: a problem has {n} answers, fewer than k={k}.")
        if math.comb(n, k) <= max_subsets:
            subsets: Sequence[Sequence[int]] = list(itertools.combinations(range(n), k))
        else:
            subsets = [sorted(rng.sample(range(n), k)) for _ in range(max_subsets)]
        per_problem.append(np.mean([is_right(majority_vote([ans[i] for i in s], mode)[0], gold, mode)
                                    for s in subsets]))
    if not per_problem:
        raise ValueError("maj_at_k_expected needs at least one problem with a gold answer.")
    return float(np.mean(per_problem))


def _check_same_length(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} problems of answers but {len(b)} gold answers.")
