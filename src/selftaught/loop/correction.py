"""Self-correction pairs for DPO (`select.pairs: correction | both`): a wrong attempt and its revisions.

For each training problem with a wrong attempt (verifier verdict incorrect or unparsed, non-blank
text; the first by sample index), the round's starting model is asked to revise it: the prompt is the
problem, the attempt as the assistant's turn, then `CORRECTION_PROMPT` from inference/self_refine.py
("Your final answer above is wrong. Write a corrected solution. ..."), the feedback text test-time
self-refine gives with verifier feedback. `sampling.n` revisions are sampled at the round's
temperature and scored by the task's verifier; they go to rounds/NNN/revision_samples.jsonl and
revision_scores.jsonl (reused on resume). Each revision problem's id is `<attempt id>+revise`, so
the file names the attempt it revises and its ids never collide with the round's own.

A pair is (revision prompt, a correct revision, a revision still wrong); when every revision is
correct, the rejected side is the wrong first attempt restated (the model repeating its mistake).
The prompt says the answer is wrong because in training it always is: the pairs teach fixing an
answer known to be wrong, as in self-refine with `verifier_signal`, not deciding whether to change one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..inference.self_refine import correction_messages
from ..select import build_correction_pairs
from .context import RoundContext, RoundSettings

SUFFIX = "+revise"
WRONG = ("incorrect", *NO_ANSWER)


@dataclass
class Revisions:
    problems: list[Problem]  # one revision problem per revised attempt
    attempts: list[Sample]  # the wrong first attempt each revises
    samples: list[Sample]
    scores: list[Score]

    def pairs(self, max_pairs_per_problem: int, seed: int, dedupe: bool) -> list[dict[str, Any]]:
        return build_correction_pairs(self.problems, self.attempts, self.samples, self.scores,
                                      max_pairs_per_problem=max_pairs_per_problem, seed=seed, dedupe=dedupe,
                                      with_ids=True)

    def metrics(self) -> dict[str, Any]:
        """revised (attempts revised), revision_w2c (share of revisions correct: wrong -> correct),
        revision_solved (share of revised attempts with at least one correct revision)."""
        solved = {x.problem_id for x, sc in zip(self.samples, self.scores) if sc.correct}
        return {"revised": len(self.problems),
                "revision_w2c": sum(sc.correct for sc in self.scores) / len(self.scores) if self.scores else None,
                "revision_solved": len(solved) / len(self.problems) if self.problems else None}


def revision_problems(problems: list[Problem], samples: list[Sample],
                      scores: list[Score]) -> list[tuple[Problem, Sample]]:
    """(revision problem, the wrong attempt it revises) for each problem with a gold answer and a wrong attempt.

    >>> ps = [Problem("a", "2+2?", "4"), Problem("b", "1+1?", "2")]
    >>> ss = [Sample("a", "4", 1, index=0), Sample("a", "5", 1, index=1), Sample("b", "2", 1)]
    >>> sc = [Score("a#0", "4", "correct", 1.0), Score("a#1", "5", "incorrect", 0.0),
    ...       Score("b#0", "2", "correct", 1.0)]
    >>> [(p.id, [m["role"] for m in p.prompt], a.id) for p, a in revision_problems(ps, ss, sc)]
    [('a#1+revise', ['user', 'assistant', 'user'], 'a#1')]
    """
    first: dict[str, Sample] = {}
    for x, sc in sorted(zip(samples, scores), key=lambda t: t[0].index):
        if sc.verdict in WRONG and x.text.strip() and x.problem_id not in first:
            first[x.problem_id] = x
    return [(replace(p, id=first[p.id].id + SUFFIX, prompt=correction_messages(p, first[p.id].text)), first[p.id])
            for p in problems if p.id in first and p.answer is not None]


def revise(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample], scores: list[Score],
           settings: RoundSettings) -> Revisions:
    """Sample and score `sampling.n` revisions of each problem's first wrong attempt (round index-1's model)."""
    todo = revision_problems(problems, samples, scores)
    if not todo:
        return Revisions([], [], [], [])
    rev_problems, attempts = [p for p, _ in todo], [a for _, a in todo]
    params = ctx.params(settings.temperature, ctx.seed("revision", index))
    tries, verdicts, _ = ctx.generate_step(index - 1, index, rev_problems, params, ctx.cfg.sampling.n, "revision",
                                           "self-correction")
    return Revisions(rev_problems, attempts, tries, verdicts)
