"""Preference pairs from self-generated samples: a correct answer preferred over a wrong one.

The DPO / IPO data of iterative RPO (Pang et al. 2024) and self-rewarding loops, as TRL's
DPOTrainer takes it: `prompt`, `chosen`, `rejected`. Records are conversational by default (prompt
as chat messages, chosen / rejected as one assistant message each), like the SFT records.
`build_correction_pairs` makes self-correction pairs (self-correction learning): for a prompt
that asks to revise a wrong attempt, a correct revision preferred over one still wrong.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from ..core.errors import ConfigError, DataError
from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..metrics.diversity import normalize_ws
from ..metrics.grouping import group_by_problem
from .records import prompt_messages


def build_pairs(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                max_pairs_per_problem: int = 1, seed: int = 0,
                rejected_verdicts: Sequence[str] = ("incorrect", *NO_ANSWER), dedupe: bool = True,
                conversational: bool = True, with_ids: bool = False) -> list[dict[str, Any]]:
    """Up to `max_pairs_per_problem` (correct, wrong) pairs per problem, chosen reproducibly.

    A problem needs at least one correct and one rejected sample (verdict in `rejected_verdicts`;
    an unparsed, conflicting or truncated answer counts as wrong by default). Pairs are drawn with `seed` and
    spread over
    the samples: no sample is reused while an unused one remains. `dedupe` drops repeated texts
    first. With `conversational=False` the prompt must be a string and all three fields are text.
    `with_ids` adds `problem_id`, `chosen_id` and `rejected_id` (keep them out of the trainer).

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "2+2?", "4")]
    >>> ss = [Sample("a", "4", 1, index=0), Sample("a", "5", 1, index=1)]
    >>> sc = [Score("a#0", "4", "correct", 1.0), Score("a#1", "5", "incorrect", 0.0)]
    >>> build_pairs(ps, ss, sc, conversational=False)
    [{'prompt': '2+2?', 'chosen': '4', 'rejected': '5'}]
    """
    if not isinstance(max_pairs_per_problem, int) or max_pairs_per_problem < 1:
        raise ConfigError(f"build_pairs: `max_pairs_per_problem` must be an integer >= 1, "
                          f"got {max_pairs_per_problem!r}.")
    out = []
    for g in group_by_problem(problems, samples, scores):
        good = _unique([(s, sc) for s, sc in zip(g.samples, g.scores) if sc.verdict == "correct"], dedupe)
        bad = _unique([(s, sc) for s, sc in zip(g.samples, g.scores)
                       if sc.verdict in rejected_verdicts], dedupe)
        rng = random.Random(f"{seed}:{g.problem.id}")
        for i, j in spread_pairs(len(good), len(bad), max_pairs_per_problem, rng):
            pair = _format(g.problem, good[i][0].text, bad[j][0].text, conversational)
            if with_ids:
                pair.update(problem_id=g.problem.id, chosen_id=good[i][0].id, rejected_id=bad[j][0].id)
            out.append(pair)
    return out


def build_correction_pairs(problems: Sequence[Problem], attempts: Sequence[Sample], samples: Sequence[Sample],
                           scores: Sequence[Score], max_pairs_per_problem: int = 1, seed: int = 0,
                           rejected_verdicts: Sequence[str] = ("incorrect", *NO_ANSWER), dedupe: bool = True,
                           with_ids: bool = False) -> list[dict[str, Any]]:
    """Self-correction pairs: a correct revision preferred over one still wrong, per revision prompt.

    `problems[i]` is a revision problem (its prompt asks to correct the wrong first attempt
    `attempts[i]`); `samples` / `scores` are its revisions and their verdicts. A problem needs a correct
    revision; when no revision is still wrong, the first attempt itself is the rejected answer (a
    "revision" that restates the mistake). Pairs are drawn as in `build_pairs`. `with_ids` adds
    `problem_id` (the original problem's), `chosen_id`, `rejected_id`, `revised_id` (the first attempt)
    and `kind: correction`.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> first = Sample("a", "5", 1)
    >>> ps = [Problem("a#0+revise", "2+2? You said 5: wrong.", "4")]
    >>> ss = [Sample("a#0+revise", "4", 1, index=0)]
    >>> sc = [Score("a#0+revise#0", "4", "correct", 1.0)]
    >>> pair = build_correction_pairs(ps, [first], ss, sc, with_ids=True)[0]
    >>> pair["chosen"], pair["rejected"], pair["rejected_id"]  # no wrong revision: the attempt restated
    ([{'role': 'assistant', 'content': '4'}], [{'role': 'assistant', 'content': '5'}], 'a#0')
    """
    if len(problems) != len(attempts):
        raise DataError(f"build_correction_pairs: {len(problems)} problems but {len(attempts)} first attempts.")
    if not isinstance(max_pairs_per_problem, int) or max_pairs_per_problem < 1:
        raise ConfigError(f"build_correction_pairs: `max_pairs_per_problem` must be an integer >= 1, "
                          f"got {max_pairs_per_problem!r}.")
    first = {p.id: a for p, a in zip(problems, attempts)}
    out = []
    for g in group_by_problem(problems, samples, scores):
        attempt = first[g.problem.id]
        good = _unique([(s, sc) for s, sc in zip(g.samples, g.scores) if sc.verdict == "correct"], dedupe)
        bad = _unique([(s, sc) for s, sc in zip(g.samples, g.scores)
                       if sc.verdict in rejected_verdicts], dedupe) or [(attempt, None)]
        rng = random.Random(f"{seed}:{g.problem.id}")
        for i, j in spread_pairs(len(good), len(bad), max_pairs_per_problem, rng):
            pair = _format(g.problem, good[i][0].text, bad[j][0].text, True)
            if with_ids:
                pair.update(problem_id=attempt.problem_id, chosen_id=good[i][0].id, rejected_id=bad[j][0].id,
                            revised_id=attempt.id, kind="correction")
            out.append(pair)
    return out


def spread_pairs(n_good: int, n_bad: int, k: int, rng: random.Random) -> list[tuple[int, int]]:
    """Up to k distinct (good, bad) index pairs, each pick using the least-used samples so far.

    >>> pairs = spread_pairs(2, 3, 2, random.Random(0))
    >>> sorted(i for i, _ in pairs), len({j for _, j in pairs})  # no sample used twice
    ([0, 1], 2)
    """
    candidates = [(i, j) for i in range(n_good) for j in range(n_bad)]
    rng.shuffle(candidates)
    used_good, used_bad = [0] * n_good, [0] * n_bad
    chosen: list[tuple[int, int]] = []
    while candidates and len(chosen) < k:
        best = min(range(len(candidates)),
                   key=lambda c: used_good[candidates[c][0]] + used_bad[candidates[c][1]])
        i, j = candidates.pop(best)
        used_good[i] += 1
        used_bad[j] += 1
        chosen.append((i, j))
    return chosen


def _unique(items: list, dedupe: bool) -> list:
    if not dedupe:
        return items
    seen, out = set(), []
    for s, sc in items:
        key = normalize_ws(s.text)
        if key not in seen:
            seen.add(key)
            out.append((s, sc))
    return out


def _format(problem: Problem, chosen: str, rejected: str, conversational: bool) -> dict[str, Any]:
    if conversational:
        return {"prompt": prompt_messages(problem.prompt),
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}]}
    if not isinstance(problem.prompt, str):
        raise DataError(f"build_pairs: problem {problem.id!r} has a chat prompt; "
                        "use conversational=True for chat prompts.")
    return {"prompt": problem.prompt, "chosen": chosen, "rejected": rejected}
