"""Metrics of a held-out evaluation (greedy answers to the eval split), as one dict under `eval/`.

The loop's round evaluation and `selftaught eval` report these; each family of checks (accuracy,
truncation, answer collapse) adds its keys here so every caller gets all of them.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..tasks.verdicts import truncation_warning, verdict_rates
from .arms import arm_metrics
from .collapse import collapse_metrics
from .stats import wilson_interval


def eval_metrics(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score]) -> dict[str, Any]:
    """`eval/accuracy` with its 95% Wilson interval, `eval/n`, the unparsed rate, the mean length;
    `eval/truncated_rate`, `eval/cut_rate`, `eval/conflict_rate` (`tasks.verdicts.verdict_rates`), and
    `eval/truncation_warning` (a message) only when over 10% of the answers are truncated; the
    answer-collapse keys of `metrics.collapse` (`eval/answer_entropy`, `eval/top_answer_share`,
    `eval/const_gold_acc`, `eval/const_model_acc` with intervals, `eval/collapse`, ...); per arm (problems from
    several sources or levels, `metrics.arms`): `eval/arm/<source>@L<level>/accuracy` and `eval/highest_level_50`.

    `scores[i]` is the score of `samples[i]`, one greedy sample per problem.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> m = eval_metrics([Problem("a", "q", "2")], [Sample("a", "2", 3)], [Score("a#0", "2", "correct", 1.0)])
    >>> m["eval/accuracy"], m["eval/n"], m["eval/completion_length"]
    (1.0, 1, 3.0)
    """
    n = len(scores)
    correct = sum(sc.correct for sc in scores)
    low, high = wilson_interval(correct, n)
    answers = [None if sc.verdict in NO_ANSWER else sc.extracted for sc in scores]
    golds = {p.id: p.answer for p in problems}
    collapse = collapse_metrics(answers, [golds.get(x.problem_id) for x in samples], correct / n)
    out = {
        "eval/accuracy": correct / n,
        "eval/accuracy_low": low,
        "eval/accuracy_high": high,
        "eval/n": n,
        "eval/unparsed_rate": sum(sc.verdict == "unparsed" for sc in scores) / n,
        "eval/completion_length": sum(x.n_tokens for x in samples) / len(samples),
        **{f"eval/{k}": v for k, v in verdict_rates(problems, samples, scores).items()},
        **{f"eval/{k}": v for k, v in collapse.items()},
        **{f"eval/{k}": v for k, v in arm_metrics(problems, samples, scores).items()},
    }
    limit = samples[0].params.get("max_new_tokens") if samples else None
    if warning := truncation_warning(scores, "eval.max_new_tokens", limit):  # present only when it fires
        out["eval/truncation_warning"] = warning
    return out
