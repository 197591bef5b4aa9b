"""Rule `majority`: label-free selection by self-consistency (TTRL, Zuo et al. 2025; LMSI, Huang et al. 2023).

Per problem, the most frequent extracted answer among the parsed samples becomes the pseudo-label
(answers counted up to equivalence, `scoring.equivalence.majority`: `8`, `8 legs` and `8.0` are one
answer; ties go to the answer seen first); the samples that give it are kept. No gold answer is used.

Options: `min_share`, the least fraction of *all* the problem's samples that must vote for the
pseudo-label (unparsed samples count against it; 0.5 keeps only clear majorities), `min_votes`,
`equivalence` (`auto`, `exact`, `numeric`, `math`; see `scoring.equivalence`), plus `dedupe`,
`max_per_problem`, `seed`.

Where the problem does have a gold answer, each kept record notes in `meta["label_correct"]`
whether the pseudo-label is right, for monitoring only: by default it is the verdict of the
agreeing samples' scores (so those scores must come from a verifier against Problem.answer); pass
`gold_match(problem, label) -> bool` to decide otherwise.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from ..metrics.grouping import ProblemGroup, group_by_problem
from ..scoring.equivalence import Equivalence, majority
from .common import SELECTION_RULES, Selector, check_common, finish
from .records import Selected

GoldMatch = Callable[[Problem, str], bool]


def make_majority(min_share: float = 0.0, min_votes: int = 1, dedupe: bool = True,
                  max_per_problem: int | None = None, seed: int = 0,
                  gold_match: GoldMatch | None = None, equivalence: Equivalence = "auto") -> Selector:
    """A selector keeping the samples that agree with their problem's majority answer.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "q", answer="5")]
    >>> ss = [Sample("a", f"so {x}", 2, index=i) for i, x in enumerate("5575")]
    >>> sc = [Score(s.id, s.text[-1], "correct" if s.text[-1] == "5" else "incorrect", 0.0) for s in ss]
    >>> kept = make_majority(min_share=0.5, dedupe=False)(ps, ss, sc)
    >>> [k.sample_id for k in kept], kept[0].label, kept[0].score, kept[0].meta["label_correct"]
    (['a#0', 'a#1', 'a#3'], '5', 0.75, True)
    """
    if not 0.0 <= min_share <= 1.0:
        raise ConfigError(f"select majority: `min_share` must be in [0, 1], got {min_share!r}.")
    if not isinstance(min_votes, int) or min_votes < 1:
        raise ConfigError(f"select majority: `min_votes` must be an integer >= 1, got {min_votes!r}.")
    check_common(dedupe, max_per_problem)

    def select_majority(problems: Sequence[Problem], samples: Sequence[Sample],
                        scores: Sequence[Score]) -> list[Selected]:
        out: list[Selected] = []
        for g in group_by_problem(problems, samples, scores):
            out.extend(finish(_keep_majority(g, min_share, min_votes, gold_match, equivalence),
                              dedupe, max_per_problem, seed))
        return out

    return select_majority


def _keep_majority(g: ProblemGroup, min_share: float, min_votes: int,
                   gold_match: GoldMatch | None, equivalence: Equivalence) -> list[Selected]:
    answers = g.answers
    label, members = majority(answers, equivalence)
    votes = len(members)
    share = votes / g.n if g.n else 0.0
    if label is None or votes < min_votes or share < min_share:
        return []
    agree = [i in members for i in range(len(answers))]
    meta = {"votes": votes, "parsed": sum(a is not None for a in answers), "n": g.n,
            "label_correct": _label_correct(g, label, agree, gold_match)}
    return [Selected(g.problem.id, s.id, g.problem.prompt, s.text, rule="majority", label=label,
                     label_source="majority", score=share, meta=dict(meta))
            for s, ok in zip(g.samples, agree) if ok]


def _label_correct(g: ProblemGroup, label: str, agree: list[bool],
                   gold_match: GoldMatch | None) -> bool | None:
    if g.problem.answer is None:
        return None
    if gold_match is not None:
        return bool(gold_match(g.problem, label))
    verdicts = [sc.verdict for sc, ok in zip(g.scores, agree) if ok]
    return verdicts[0] == "correct"


SELECTION_RULES.register("majority", make_majority)
