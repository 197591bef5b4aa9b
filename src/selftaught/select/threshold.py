"""Rule `threshold`: keep samples whose score is at least a threshold (reward model, confidence).

The score is `key`, looked up per sample: "reward" (Score.reward, the default), "logprob" (the
sample's per-token log-probability, logprob / n_tokens or stats["mean_logprob"]), or any key of Sample.stats that the
generator wrote ("self_certainty", "mean_entropy", ...). Or pass `values`, one float per sample in
the order of `samples` (a scorer's output list: one float per sample).

A sample without the score is not kept. With `max_per_problem` the highest-scoring ones are kept
(B-STaR's selection: top-scoring samples above the threshold).
"""

from __future__ import annotations

import math
from typing import Sequence

from ..core.errors import ConfigError, DataError
from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..metrics.diversity import token_logprob
from ..metrics.grouping import check_aligned, group_by_problem
from .common import SELECTION_RULES, Selector, check_common, finish
from .records import Selected


def sample_value(sample: Sample, score: Score, key: str) -> float | None:
    """The number `key` names for one sample, or None when the sample does not carry it.

    >>> s = Sample("p", "x", 4, logprob=-2.0, stats={"self_certainty": 3.5})
    >>> sc = Score("p#0", "x", "correct", 0.9)
    >>> sample_value(s, sc, "reward"), sample_value(s, sc, "logprob"), sample_value(s, sc, "self_certainty")
    (0.9, -0.5, 3.5)
    """
    if key == "reward":
        value = score.reward
    elif key == "logprob":
        value = token_logprob(sample)
    else:
        value = sample.stats.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def make_threshold(threshold: float, key: str = "reward", values: Sequence[float] | None = None,
                   require_parsed: bool = False, dedupe: bool = True,
                   max_per_problem: int | None = None, seed: int = 0) -> Selector:
    """A selector keeping samples with score >= `threshold`.

    `require_parsed` also drops samples whose answer could not be extracted.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "q")]
    >>> ss = [Sample("a", t, 1, index=i) for i, t in enumerate(["x", "y", "z"])]
    >>> sc = [Score(s.id, None, "unparsed", r) for s, r in zip(ss, [0.2, 0.8, 0.5])]
    >>> [s.sample_id for s in make_threshold(0.5)(ps, ss, sc)]
    ['a#1', 'a#2']
    """
    if not isinstance(threshold, (int, float)) or math.isnan(threshold):
        raise ConfigError(f"select threshold: `threshold` must be a number, got {threshold!r}.")
    check_common(dedupe, max_per_problem)

    def select_threshold(problems: Sequence[Problem], samples: Sequence[Sample],
                         scores: Sequence[Score]) -> list[Selected]:
        check_aligned(samples, scores)
        per_sample = _values(samples, scores, key, values)
        out: list[Selected] = []
        for g in group_by_problem(problems, samples, scores):
            kept = []
            for i, s, sc in zip(g.indices, g.samples, g.scores):
                v = per_sample[i]
                if v is None or v < threshold or (require_parsed and sc.verdict in NO_ANSWER):
                    continue
                kept.append(Selected(g.problem.id, s.id, g.problem.prompt, s.text, rule="threshold",
                                     label=sc.extracted, label_source="score", score=v,
                                     meta={"key": "values" if values is not None else key,
                                           "threshold": threshold}))
            out.extend(finish(kept, dedupe, max_per_problem, seed, by_score=True))
        return out

    return select_threshold


def _values(samples: Sequence[Sample], scores: Sequence[Score], key: str,
            values: Sequence[float] | None) -> list[float | None]:
    if values is not None:
        if len(values) != len(samples):
            raise DataError(f"select threshold: {len(values)} values for {len(samples)} samples; "
                            "give one value per sample, in the order of the samples.")
        return [None if v is None or math.isnan(v) else float(v) for v in values]
    out = [sample_value(s, sc, key) for s, sc in zip(samples, scores)]
    if samples and all(v is None for v in out):
        known = sorted({"reward", "logprob"} | {k for s in samples for k in s.stats})
        raise DataError(f"select threshold: no sample carries the score {key!r}; "
                        f"the samples carry: {', '.join(known)}.")
    return out


SELECTION_RULES.register("threshold", make_threshold)
