"""Group a round's flat lists of samples and scores by problem, checking that they line up.

A round stores `samples.jsonl` and `scores.jsonl` as two flat lists: `scores[i]` is the score of
`samples[i]` (same order). `group_by_problem` checks that (when a score names its sample, the ids
must agree) and returns one `ProblemGroup` per problem, in the order of `problems`, with the
samples in their original order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..core.errors import DataError
from ..core.records import NO_ANSWER, Problem, Sample, Score


@dataclass
class ProblemGroup:
    problem: Problem
    samples: list[Sample] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # positions in the flat samples list

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def correct(self) -> list[bool]:
        return [s.verdict == "correct" for s in self.scores]

    @property
    def answers(self) -> list[str | None]:
        """Extracted answers; None for an unparsed sample."""
        return [None if s.verdict in NO_ANSWER else s.extracted for s in self.scores]

    @property
    def correct_answers(self) -> set[str]:
        """The extracted answers (stripped) that the verifier judged correct."""
        return {s.extracted.strip() for s in self.scores if s.verdict == "correct" and s.extracted is not None}


def check_aligned(samples: Sequence[Sample], scores: Sequence[Score]) -> None:
    """Raise DataError unless `scores[i]` belongs to `samples[i]` for every i."""
    if len(samples) != len(scores):
        raise DataError(f"{len(samples)} samples but {len(scores)} scores: scores must align with "
                        "samples one to one, in the same order.")
    for i, (sample, score) in enumerate(zip(samples, scores)):
        if score.sample_id and score.sample_id != sample.id:
            raise DataError(f"score {i} is for sample {score.sample_id!r} but sample {i} is "
                            f"{sample.id!r}: scores must be in the same order as samples.")


def group_by_problem(problems: Sequence[Problem], samples: Sequence[Sample],
                     scores: Sequence[Score]) -> list[ProblemGroup]:
    """One group per problem (in `problems` order); a problem without samples gets an empty group.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "1+1?", "2"), Problem("b", "2+2?", "4")]
    >>> ss = [Sample("b", "4", 1), Sample("a", "2", 1, index=0), Sample("a", "3", 1, index=1)]
    >>> sc = [Score("b#0", "4", "correct", 1.0), Score("a#0", "2", "correct", 1.0),
    ...       Score("a#1", "3", "incorrect", 0.0)]
    >>> [(g.problem.id, g.correct) for g in group_by_problem(ps, ss, sc)]
    [('a', [True, False]), ('b', [True])]
    """
    check_aligned(samples, scores)
    groups: dict[str, ProblemGroup] = {}
    for p in problems:
        if p.id in groups:
            raise DataError(f"problem id {p.id!r} appears twice among the problems.")
        groups[p.id] = ProblemGroup(p)
    for i, (sample, score) in enumerate(zip(samples, scores)):
        group = groups.get(sample.problem_id)
        if group is None:
            raise DataError(f"sample {sample.id!r} names problem {sample.problem_id!r}, "
                            "which is not among the problems given.")
        group.samples.append(sample)
        group.scores.append(score)
        group.indices.append(i)
    return list(groups.values())
