"""Accuracy per arm (a problem source at a level, `problem.meta["arm"]`) and the highest level solved.

A run whose problems carry more than one arm, or an arm with a level (`source@L2`), gets its accuracy
broken down per arm: `arm/<key>/accuracy` (share of correct samples) and `arm/<key>/n` (problems); the
callers prefix `eval/` or `rollout/`. `highest_level_50` is the highest level whose pooled held-out
accuracy (over the sources at that level) is at least 50%, -1 when no level reaches it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from ..core.records import Problem, Sample, Score


def _level(key: str) -> int | None:
    """The level in an arm key `source@L3` (None: no level): curriculum.base.Arm.parse, read here without
    importing the curriculum layer, which sits above metrics."""
    _, sep, level = key.rpartition("@L")
    return int(level) if sep and level.lstrip("-").isdigit() else None


def rewards_by_arm(problems: Sequence[Problem], samples: Sequence[Sample],
                   scores: Sequence[Score]) -> dict[str, dict[str, list[float]]]:
    """{arm key: {problem id: the rewards of its samples}}, arms in first-seen order; problems without an arm
    are left out."""
    arm_of = {p.id: p.meta.get("arm") for p in problems}
    out: dict[str, dict[str, list[float]]] = {}
    for sample, score in zip(samples, scores):
        arm = arm_of.get(sample.problem_id)
        if arm is not None:
            out.setdefault(arm, {}).setdefault(sample.problem_id, []).append(float(score.reward))
    return out


def arm_metrics(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score]) -> dict[str, Any]:
    """`arm/<key>/accuracy`, `arm/<key>/n` per arm, and `highest_level_50` when any arm has a level; empty for
    a run of one arm without levels (its accuracy is the overall one).

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "q", "1", {"arm": "t@L0"}), Problem("b", "q", "1", {"arm": "t@L1"})]
    >>> m = arm_metrics(ps, [Sample("a", "1", 1), Sample("b", "2", 1)],
    ...                 [Score("a", "1", "correct", 1.0), Score("b", "2", "incorrect", 0.0)])
    >>> m["arm/t@L0/accuracy"], m["arm/t@L1/accuracy"], m["highest_level_50"]
    (1.0, 0.0, 0)
    """
    arm_of = {p.id: p.meta.get("arm") for p in problems}
    hits: dict[str, list[bool]] = defaultdict(list)
    ids: dict[str, set[str]] = defaultdict(set)
    for sample, score in zip(samples, scores):
        arm = arm_of.get(sample.problem_id)
        if arm is not None:
            hits[arm].append(bool(score.correct))
            ids[arm].add(sample.problem_id)
    levelled = [a for a in hits if _level(a) is not None]
    if len(hits) < 2 and not levelled:
        return {}
    out: dict[str, Any] = {}
    for arm in hits:
        out[f"arm/{arm}/accuracy"] = sum(hits[arm]) / len(hits[arm])
        out[f"arm/{arm}/n"] = len(ids[arm])
    if levelled:
        out["highest_level_50"] = highest_level(hits)
    return out


def highest_level(hits: dict[str, list[bool]], at_least: float = 0.5) -> int:
    """The highest level whose pooled accuracy over its arms is >= `at_least`; -1 when none is."""
    pooled: dict[int, list[bool]] = defaultdict(list)
    for arm, values in hits.items():
        if (level := _level(arm)) is not None:
            pooled[level] += values
    passing = [level for level, values in pooled.items() if values and sum(values) / len(values) >= at_least]
    return max(passing, default=-1)
