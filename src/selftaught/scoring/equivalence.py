"""Which extracted answers say the same thing, and the (weighted) vote over them.

Equivalence modes (`Equivalence`):

- `exact`: equal after normalisation (strip, drop `$` and a trailing period, collapse whitespace,
  lower-case);
- `math`: `exact`, or equal under math-verify (`1/2`, `0.5` and `\\frac{1}{2}` are one answer);
- `auto` (default): `math` when both answers look like a single mathematical expression, else `exact`.
  An answer "looks mathematical" when, after dropping LaTeX commands (`\\frac`, ...), it has no run of
  two or more letters and no top-level comma or semicolon. This keeps math-verify away from words
  (it reads `hello` as the product h*e*l*l*o, equal to `olleh`) and from ordered lists (it reads
  `2,3` as a set, equal to `3,2`).

Grouping is greedy and reproducible: answers are visited in sample order; each joins the first
existing group whose *representative* (that group's first answer) is equivalent to it, otherwise it
starts a new group. `None` (unparsed) never joins a group.

Vote and ties (`vote`): the winning group has the largest total weight (a count when no weights are
given); ties go to the group whose first member came earliest in sample order. So the same samples
in the same order always give the same winner, and a tie is decided by which answer was seen first.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Sequence

Equivalence = Literal["auto", "math", "exact"]

_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{2,}")


def normalize(answer: str) -> str:
    """The `exact` comparison key.

    >>> normalize("  $ 12 $. "), normalize("Paris"), normalize("a   b")
    ('12', 'paris', 'a b')
    """
    text = answer.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    text = text.strip().strip("$").strip()
    return re.sub(r"\s+", " ", text.strip()).lower()


def _top_level_separator(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch in ",;" and depth <= 0:
            return True
    return False


def looks_mathematical(answer: str) -> bool:
    """Whether `auto` compares this answer with math-verify.

    >>> looks_mathematical("\\\\frac{1}{2}"), looks_mathematical("x^2+1"), looks_mathematical("hello")
    (True, True, False)
    >>> looks_mathematical("2, 3")
    False
    """
    stripped = _LATEX_CMD.sub(" ", answer)
    return not _WORD.search(stripped) and not _top_level_separator(stripped)


def _timeout() -> int | None:
    """math-verify's timeouts use SIGALRM, which only works in the main thread."""
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=65536)
def _parsed(answer: str) -> tuple:
    from math_verify import parse

    candidates = [answer] if ("$" in answer or "\\boxed" in answer) else [f"${answer}$", answer]
    for candidate in candidates:
        try:
            result = parse(candidate, parsing_timeout=_timeout())
        except Exception:
            result = []
        if result:
            return tuple(result)
    return ()


@lru_cache(maxsize=65536)
def _math_equal(a: str, b: str) -> bool:
    from math_verify import verify

    pa, pb = _parsed(a), _parsed(b)
    if not pa or not pb:
        return False
    try:
        return bool(verify(list(pa), list(pb), timeout_seconds=_timeout()))
    except Exception:
        return False


def equivalent(a: str, b: str, mode: Equivalence = "auto") -> bool:
    """Whether two extracted answers are the same answer under `mode`.

    >>> equivalent("1/2", "0.5"), equivalent("\\\\frac{1}{2}", "0.5"), equivalent("2", "3")
    (True, True, False)
    >>> equivalent("hello", "olleh"), equivalent("Paris", "paris."), equivalent("1/2", "0.5", "exact")
    (False, True, False)
    """
    if mode not in ("auto", "math", "exact"):
        raise ValueError(f"equivalence mode must be auto, math or exact, got {mode!r}.")
    if normalize(a) == normalize(b):
        return True
    if mode == "exact" or (mode == "auto" and not (looks_mathematical(a) and looks_mathematical(b))):
        return False
    return _math_equal(a.strip(), b.strip())


@dataclass
class AnswerGroup:
    answer: str  # the representative: the first member's answer
    members: list[int] = field(default_factory=list)  # sample positions, in order
    weight: float = 0.0


@dataclass
class Vote:
    answer: str | None  # the winning group's representative; None when no sample has an answer
    index: int | None  # position of the winning group's first member
    share: float  # winning weight / total weight of all samples (unparsed ones included)
    groups: list[AnswerGroup]

    @property
    def winner(self) -> AnswerGroup | None:
        return next((g for g in self.groups if g.members and g.members[0] == self.index), None)


def group_answers(answers: Sequence[str | None], weights: Sequence[float] | None = None,
                  mode: Equivalence = "auto") -> list[AnswerGroup]:
    """Groups of equivalent answers, in order of first appearance (see the module docstring).

    >>> [(g.answer, g.members) for g in group_answers(["1/2", None, "0.5", "\\\\frac{1}{2}", "3"])]
    [('1/2', [0, 2, 3]), ('3', [4])]
    """
    weights = _weights(answers, weights)
    groups: list[AnswerGroup] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        group = next((g for g in groups if equivalent(g.answer, answer, mode)), None)
        if group is None:
            group = AnswerGroup(answer)
            groups.append(group)
        group.members.append(i)
        group.weight += weights[i]
    return groups


def vote(answers: Sequence[str | None], weights: Sequence[float] | None = None,
         mode: Equivalence = "auto") -> Vote:
    """Weighted majority vote over equivalence groups; ties go to the earliest-seen answer.

    >>> v = vote(["4", "5", None, "5.0", "4"])      # 4 and 5 tie on two votes: 4 was seen first
    >>> v.answer, v.index, v.share
    ('4', 0, 0.4)
    >>> vote(["4", "5"], weights=[0.2, 0.9]).answer
    '5'
    """
    weights = _weights(answers, weights)
    groups = group_answers(answers, weights, mode)
    total = float(sum(weights))
    if not groups:
        return Vote(None, None, 0.0, groups)
    best = min(groups, key=lambda g: (-g.weight, g.members[0]))
    share = best.weight / total if total > 0 else 0.0
    return Vote(best.answer, best.members[0], share, groups)


def _weights(answers: Sequence[str | None], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(answers)
    if len(weights) != len(answers):
        raise ValueError(f"{len(weights)} weights for {len(answers)} answers.")
    if any(w < 0 for w in weights):
        raise ValueError("vote weights must be >= 0 (a scorer returning log-probabilities needs exp first).")
    return [float(w) for w in weights]
