"""`round_metrics`: every metric of one round's samples, under the names the field uses.

Inputs are a round's records as stored on disk: the problems, the flat list of samples, and the
flat list of scores with `scores[i]` the score of `samples[i]` (same order; when a score names its
sample the ids must match). Samples are grouped per problem by `Sample.problem_id`; problems
without samples are left out of every mean.

Keys (each optionally behind a prefix such as "rollout/"):

    pass@k         unbiased pass@k (Chen et al. 2021), for each k in ks with k <= n
    maj@k          majority vote over the first k parsed answers, right or wrong, k in ks, 1 < k <= n
    mean@n         fraction of correct samples (n: the smallest number of samples of a problem)
    pass@1_low, pass@1_high   Wilson 95% interval of the pooled fraction of correct samples
    unparsed_rate  fraction of samples with verdict "unparsed"
    truncated_rate fraction of samples with verdict "truncated" (cut at max tokens before an answer)
    cut_rate       fraction of samples that stopped at max tokens (finish_reason "length"), answer or not
    conflict_rate  fraction of samples stating two different final answers (any task.multiple_answers)
    truncation_warning   a message naming sampling.max_new_tokens, only when truncated_rate > 10%
    reward, reward_std   mean and standard deviation of Score.reward
    distinct_answers     distinct parsed answers per problem
    distinct_correct     distinct correct completions per problem (whitespace-normalised)
    distinct_correct_answers  distinct correct answers per problem
    distinct_{1..4}gram  distinct-n over the problem's completions
    entropy        mean per-token entropy (None when the backend gave none)
    logprob        mean per-token log-probability (None when absent)
    self_certainty mean self-certainty (Kang et al. 2025) from Sample.stats (None when absent)
    completion_length    mean completion length in tokens
    tokens         total tokens generated
    n_problems, n_samples
    answer_entropy, top_answer, top_answer_share, const_gold_acc(_low/_high), const_model_acc(_low/_high),
    collapse       answer collapse across problems (metrics/collapse.py): the accuracy compared is pass@1

A metric that cannot be computed (no gold answers for maj@k, no entropies) is None (JSON null).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.records import Problem, Sample, Score
from ..tasks.verdicts import truncation_warning, verdict_rates
from .collapse import collapse_metrics
from .diversity import (distinct_answers, distinct_correct_answers, distinct_correct_texts,
                        distinct_n, mean_completion_length, mean_entropy, mean_stat,
                        mean_token_logprob)
from .grouping import ProblemGroup, group_by_problem
from .passk import maj_at_k, mean_at_n, pass_at_k_curve
from .stats import wilson_interval

DEFAULT_KS: tuple[int, ...] = (1, 4, 8)


def round_metrics(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                  ks: Sequence[int] = DEFAULT_KS, prefix: str = "") -> dict[str, Any]:
    """All rollout metrics of one round as a flat dict (see the module docstring for the keys).

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "1+1?", "2")]
    >>> ss = [Sample("a", f"so {x}", 3, index=i) for i, x in enumerate("2322")]
    >>> sc = [Score(s.id, s.text[-1], "correct" if s.text.endswith("2") else "incorrect",
    ...             float(s.text.endswith("2"))) for s in ss]
    >>> m = round_metrics(ps, ss, sc, ks=(1, 4))
    >>> m["pass@1"], m["pass@4"], m["maj@4"], m["mean@4"], m["distinct_answers"]
    (0.75, 1.0, 1.0, 0.75, 2.0)
    """
    groups = [g for g in group_by_problem(problems, samples, scores) if g.n > 0]
    out: dict[str, Any] = {"n_problems": len(groups), "n_samples": sum(g.n for g in groups)}
    if not groups:
        return {prefix + k: v for k, v in out.items()}
    out.update(_accuracy(groups, ks))
    out.update(_outcomes(groups))
    out.update(_exploration(groups))
    out.update(collapse_metrics([a for g in groups for a in g.answers], [g.problem.answer for g in groups],
                                float(np.mean([np.mean(g.correct) for g in groups]))))
    flat = [s for g in groups for s in g.samples]
    out["entropy"] = mean_entropy(flat)
    out["logprob"] = mean_token_logprob(flat)
    out["self_certainty"] = mean_stat(flat, "self_certainty")
    out["completion_length"] = mean_completion_length(flat)
    out["tokens"] = int(sum(s.n_tokens for s in flat))
    warning = truncation_warning([s for g in groups for s in g.scores], "sampling.max_new_tokens",
                                 flat[0].params.get("max_new_tokens"))
    if warning:
        out["truncation_warning"] = warning
    return {prefix + k: v for k, v in out.items()}


def _accuracy(groups: list[ProblemGroup], ks: Sequence[int]) -> dict[str, Any]:
    n_min = min(g.n for g in groups)
    out: dict[str, Any] = {}
    counts = [sum(g.correct) for g in groups]
    for k, v in pass_at_k_curve(counts, [g.n for g in groups], [k for k in ks if k <= n_min]).items():
        out[f"pass@{k}"] = v
    labelled = [g for g in groups if g.problem.answer is not None]
    for k in ks:
        if 1 < k <= n_min:
            out[f"maj@{k}"] = (maj_at_k([g.answers for g in labelled],
                                        [g.correct_answers for g in labelled], k) if labelled else None)
    out[f"mean@{n_min}"] = mean_at_n([g.correct for g in groups])
    low, high = wilson_interval(sum(counts), sum(g.n for g in groups))
    out["pass@1_low"], out["pass@1_high"] = low, high
    return out


def _outcomes(groups: list[ProblemGroup]) -> dict[str, Any]:
    scores = [s for g in groups for s in g.scores]
    samples = [s for g in groups for s in g.samples]
    rewards = np.asarray([s.reward for s in scores], dtype=float)
    return {
        "unparsed_rate": float(np.mean([s.verdict == "unparsed" for s in scores])),
        **verdict_rates([g.problem for g in groups], samples, scores),
        "reward": float(rewards.mean()),
        "reward_std": float(rewards.std()),
    }


def _exploration(groups: list[ProblemGroup]) -> dict[str, Any]:
    texts = [[s.text for s in g.samples] for g in groups]
    correct = [g.correct for g in groups]
    out: dict[str, Any] = {
        "distinct_answers": distinct_answers([g.answers for g in groups]),
        "distinct_correct": distinct_correct_texts(texts, correct),
        "distinct_correct_answers": distinct_correct_answers([g.answers for g in groups], correct),
    }
    for n in (1, 2, 3, 4):
        out[f"distinct_{n}gram"] = distinct_n(texts, n)
    return out
