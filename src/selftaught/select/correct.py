"""Rule `correct`: keep the samples the verifier judged correct (STaR / RFT / ReST-EM's E-step).

Options: `dedupe` (drop repeated completions of a problem, whitespace-normalised; default true, as
in RFT), `max_per_problem` (a seeded random subset of at most that many per problem), `seed`.
"""

from __future__ import annotations

from typing import Sequence

from ..core.records import Problem, Sample, Score
from ..metrics.grouping import group_by_problem
from .common import SELECTION_RULES, Selector, check_common, finish
from .records import Selected


def make_correct(dedupe: bool = True, max_per_problem: int | None = None, seed: int = 0) -> Selector:
    """A selector keeping verified-correct samples.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "1+1?", "2")]
    >>> ss = [Sample("a", "2", 1, index=0), Sample("a", "3", 1, index=1), Sample("a", " 2", 1, index=2)]
    >>> sc = [Score("a#0", "2", "correct", 1.0), Score("a#1", "3", "incorrect", 0.0),
    ...       Score("a#2", "2", "correct", 1.0)]
    >>> [s.sample_id for s in make_correct()(ps, ss, sc)]
    ['a#0']
    >>> [s.sample_id for s in make_correct(dedupe=False)(ps, ss, sc)]
    ['a#0', 'a#2']
    """
    check_common(dedupe, max_per_problem)

    def select_correct(problems: Sequence[Problem], samples: Sequence[Sample],
                       scores: Sequence[Score]) -> list[Selected]:
        out: list[Selected] = []
        for g in group_by_problem(problems, samples, scores):
            kept = [Selected(g.problem.id, s.id, g.problem.prompt, s.text, rule="correct",
                             label=g.problem.answer, label_source="gold", score=sc.reward,
                             meta={"source": sc.source})
                    for s, sc in zip(g.samples, g.scores) if sc.verdict == "correct"]
            out.extend(finish(kept, dedupe, max_per_problem, seed))
        return out

    return select_correct


SELECTION_RULES.register("correct", make_correct)
