"""Rule `prm_filter`: keep verified-correct samples whose weakest step a process reward model trusts.

A right final answer can sit on a wrong step (two errors that cancel, a lucky guess); training on it
teaches the wrong step. This rule keeps a sample when the task's verifier says correct AND its
`step_key` statistic (default `prm_min`, the PRM's lowest step score, which the loop's verifier stage
writes into `Sample.stats` when `verifier.kinds` has `prm`) is at least `threshold` (select.threshold).
With `max_per_problem` the highest-scoring ones are kept.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..core.errors import ConfigError, DataError
from ..core.records import Problem, Sample, Score
from ..metrics.grouping import check_aligned, group_by_problem
from .common import SELECTION_RULES, Selector, check_common, finish
from .records import Selected


def make_prm_filter(threshold: float = 0.5, step_key: str = "prm_min", dedupe: bool = True,
                    max_per_problem: int | None = None, seed: int = 0) -> Selector:
    """A selector keeping correct samples with `stats[step_key] >= threshold`.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "1+1?", "2")]
    >>> ss = [Sample("a", t, 1, index=i, stats={"prm_min": v}) for i, (t, v) in enumerate([("2", 0.9), ("2 ", 0.1), ("3", 0.9)])]
    >>> sc = [Score(s.id, s.text.strip(), "correct" if s.text.strip() == "2" else "incorrect", 0.0) for s in ss]
    >>> [s.sample_id for s in make_prm_filter(0.5, dedupe=False)(ps, ss, sc)]
    ['a#0']
    """
    if not isinstance(threshold, (int, float)) or math.isnan(threshold):
        raise ConfigError(f"select rule prm_filter: `threshold` must be a number, got {threshold!r}.")
    check_common(dedupe, max_per_problem)

    def select_prm_filter(problems: Sequence[Problem], samples: Sequence[Sample],
                          scores: Sequence[Score]) -> list[Selected]:
        check_aligned(samples, scores)
        if samples and not any(step_key in s.stats for s in samples):
            raise DataError(f"select rule prm_filter: no sample carries the PRM score `{step_key}`; add `prm` to "
                            "verifier.kinds (the loop then scores each round's samples with its PRM) and give the "
                            "round step labels (step_labels.jsonl) to train it on.")
        out: list[Selected] = []
        for g in group_by_problem(problems, samples, scores):
            kept = [Selected(g.problem.id, s.id, g.problem.prompt, s.text, rule="prm_filter", label=g.problem.answer,
                             label_source="gold", score=float(s.stats[step_key]),
                             meta={"key": step_key, "threshold": threshold})
                    for s, sc in zip(g.samples, g.scores)
                    if sc.verdict == "correct" and s.stats.get(step_key) is not None
                    and float(s.stats[step_key]) >= threshold]
            out.extend(finish(kept, dedupe, max_per_problem, seed, by_score=True))
        return out

    return select_prm_filter


SELECTION_RULES.register("prm_filter", make_prm_filter)
