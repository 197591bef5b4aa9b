"""What every selection rule shares: per-problem candidates, deduplication, a seeded cap; the registry.

A selection rule is a factory `make_X(**options) -> Selector`, registered in `SELECTION_RULES` at the
bottom of its own module; a user's own factory is named `module:object` (select.rule).
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

from ..core.errors import ConfigError
from ..core.registry import Registry
from ..core.records import Problem, Sample, Score
from ..metrics.diversity import normalize_ws
from .records import Selected

# A selector takes a round's problems, samples and scores (scores[i] belongs to samples[i]).
Selector = Callable[[Sequence[Problem], Sequence[Sample], Sequence[Score]], list[Selected]]

SELECTION_RULES: Registry[Callable[..., Selector]] = Registry("selection rule", package="selftaught.select")


def check_common(dedupe: bool, max_per_problem: int | None) -> None:
    if not isinstance(dedupe, bool):
        raise ConfigError(f"select: `dedupe` must be true or false, got {dedupe!r}.")
    if max_per_problem is not None and (not isinstance(max_per_problem, int) or max_per_problem < 1):
        raise ConfigError(f"select: `max_per_problem` must be a positive integer or null, "
                          f"got {max_per_problem!r}.")


def dedupe_texts(kept: list[Selected]) -> list[Selected]:
    """Keep the first of each whitespace-normalised completion (one problem's list, or a round's for
    select.dedupe_across).

    >>> [s.sample_id for s in dedupe_texts([Selected("p", "p#0", "q", "a  b"),
    ...                                      Selected("p", "p#1", "q", "a b\\n"),
    ...                                      Selected("p", "p#2", "q", "c")])]
    ['p#0', 'p#2']
    """
    seen: set[str] = set()
    out = []
    for s in kept:
        key = normalize_ws(s.completion)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def cap(kept: list[Selected], max_per_problem: int | None, seed: int,
        by_score: bool = False) -> list[Selected]:
    """At most `max_per_problem` of one problem's kept samples, chosen reproducibly.

    A random subset seeded by (seed, problem id), or with `by_score` the highest scores (ties in
    random order). The result keeps the samples' original order.

    >>> ks = [Selected("p", f"p#{i}", "q", str(i), score=float(i)) for i in range(5)]
    >>> [s.sample_id for s in cap(ks, 2, seed=0, by_score=True)]
    ['p#3', 'p#4']
    >>> cap(ks, 2, seed=1) == cap(ks, 2, seed=1)
    True
    """
    if max_per_problem is None or len(kept) <= max_per_problem:
        return kept
    rng = random.Random(f"{seed}:{kept[0].problem_id}")
    order = list(range(len(kept)))
    rng.shuffle(order)
    if by_score:
        order.sort(key=lambda i: -(kept[i].score if kept[i].score is not None else float("-inf")))
    chosen = sorted(order[:max_per_problem])
    return [kept[i] for i in chosen]


def finish(kept: list[Selected], dedupe: bool, max_per_problem: int | None, seed: int,
           by_score: bool = False) -> list[Selected]:
    """Deduplicate then cap one problem's kept samples."""
    if dedupe:
        kept = dedupe_texts(kept)
    return cap(kept, max_per_problem, seed, by_score)
