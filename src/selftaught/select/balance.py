"""Selection against answer collapse, and a cap on a round's records (applied after select.rule).

- `select.dedupe_across`: drop a record whose completion another problem's record already has;
- `select.max_answer_share`: no one answer more than a share of the round's records (below);
- `select.max_records`: at most that many records a round (equal compute across variants).

Measured on letter_counting and gcd with the default model (docs/results.md), neither of the first two
prevents collapse there: the model answers one thing to most problems before the loop starts.

Answer collapse grows in the selection. On a task where one value is the gold answer of many problems
(letter_counting: "1"; gcd: "1"), a model that says that value everywhere is *right* on those problems, so
rule `correct` fills the round's training data with one answer, the next model says it more often, and so
on (measured: round 0 answering "3" to every problem, round 2 "1" to every problem). `select.max_answer_share`
caps the share of each answer (its equivalence group, as the collapse metrics group answers) among the
records a rule kept: an answer over the cap keeps only as many records as the cap allows beside the others,
chosen one problem at a time (each problem keeps at most one record of it before any keeps a second, so
the capped answer's records stay spread over its problems), seeded, so a rerun keeps the same ones.

The cap is the largest count L with L <= share x (the number of records left when every answer keeps at
most L), at least 1: with a single answer in the selection, one record of it is kept. Records without a
label (a user rule that sets none) are never capped and count towards the total.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Sequence

from ..metrics.collapse import answer_key
from .common import dedupe_texts
from .records import Selected


def answer_limit(counts: Sequence[int], others: int, max_share: float) -> int:
    """The most records one answer may keep: the largest L >= 1 with L <= share x (sum min(count, L) + others).

    >>> answer_limit([60, 10, 5], 0, 0.5)  # 15 records of the other answers allow 15 of the top one
    15
    >>> answer_limit([60], 0, 0.5), answer_limit([6, 6, 6], 0, 0.5), answer_limit([9, 1], 4, 0.5)
    (1, 6, 5)
    """
    for limit in range(max(counts, default=0), 0, -1):
        if limit <= max_share * (sum(min(c, limit) for c in counts) + others) + 1e-9:
            return limit
    return 1


def cap_answer_share(chosen: list[Selected], max_share: float | None, seed: int) -> list[Selected]:
    """The records `chosen` keeps under `max_share` (see the module docstring), in their original order.

    >>> recs = [Selected(f"p{i}", f"p{i}#0", "q", "...", label="1") for i in range(6)]
    >>> recs += [Selected("p9", "p9#0", "q", "...", label="2"), Selected("p8", "p8#0", "q", "...", label="3")]
    >>> kept = cap_answer_share(recs, 0.5, seed=0)
    >>> sorted(r.label for r in kept)
    ['1', '1', '2', '3']
    >>> cap_answer_share(recs, 0.5, seed=0) == kept, cap_answer_share(recs, None, seed=0) == recs
    (True, True)
    """
    if max_share is None or not chosen:
        return chosen
    groups: dict[Any, list[int]] = defaultdict(list)
    others = 0
    for i, rec in enumerate(chosen):
        if rec.label is None:
            others += 1
        else:
            groups[answer_key(rec.label)].append(i)
    limit = answer_limit([len(g) for g in groups.values()], others, max_share)
    drop: set[int] = set()
    for key, members in groups.items():
        if len(members) > limit:
            keep = _spread(chosen, members, limit, random.Random(f"{seed}:{key}"))
            drop.update(i for i in members if i not in keep)
    return [rec for i, rec in enumerate(chosen) if i not in drop]


def dedupe_across(chosen: list[Selected], on: bool) -> list[Selected]:
    """select.dedupe_across: the first record of each whitespace-normalised completion over all problems.

    >>> recs = [Selected(p, f"{p}#0", "q", t) for p, t in [("a", "gives 1"), ("b", "gives  1"), ("c", "3 = 3")]]
    >>> [r.problem_id for r in dedupe_across(recs, True)], len(dedupe_across(recs, False))
    (['a', 'c'], 3)
    """
    return dedupe_texts(chosen) if on else chosen


def cap_records(chosen: list[Selected], max_records: int | None, seed: int) -> list[Selected]:
    """At most `max_records` of `chosen` (select.max_records), one record per problem before any problem's
    second, seeded; the kept records stay in their original order.

    >>> recs = [Selected(p, f"{p}#{i}", "q", "...") for p in "aab" for i in range(2)]
    >>> sorted({r.problem_id for r in cap_records(recs, 2, seed=0)}), cap_records(recs, None, seed=0) == recs
    (['a', 'b'], True)
    """
    if max_records is None or len(chosen) <= max_records:
        return chosen
    keep = _spread(chosen, list(range(len(chosen))), max_records, random.Random(f"{seed}:records"))
    return [rec for i, rec in enumerate(chosen) if i in keep]


def _spread(chosen: list[Selected], members: list[int], limit: int, rng: random.Random) -> set[int]:
    """`limit` of `members`, taking one record per problem in a seeded order before any problem's second."""
    by_problem: dict[str, list[int]] = defaultdict(list)
    for i in members:
        by_problem[chosen[i].problem_id].append(i)
    queues = list(by_problem.values())
    rng.shuffle(queues)
    for q in queues:
        rng.shuffle(q)
    order = [q[depth] for depth in range(max(map(len, queues))) for q in queues if depth < len(q)]
    return set(order[:limit])
