"""Which answers say the same thing: the one comparison used by scoring, votes, metrics, selection and rewards.

Modes (`Equivalence`, a task's `task.answer_match`):

- `exact`: the same text once answer markup (`\\boxed{}`, `$...$`, `\\text{}`, markdown emphasis, quotes),
  case, spacing, surrounding punctuation and thousands separators are set aside (`answer_form.clean`);
- `numeric`: `exact`, or the same numbers by exact value (`1000` = `1,000` = `1 000` = `1000.0` = `1e3`,
  `1/2` = `0.5` = `\\frac{1}{2}`, `50%` = `50` = `0.5`), item by item in lists, after the remark and unit
  rules below; nothing else is compared;
- `math`: `numeric`, then math-verify on every pair of items that still differ (words included: math-verify
  reads `Paris` as the product P*a*r*i*s, equal to `Pairs`; only for tasks whose answers are all formulas);
- `auto` (default): `math`, but math-verify only when both items look mathematical: no run of two or more
  letters outside LaTeX commands and known function names (`sqrt`, `sin`, `pi`, ...). Words are compared
  as normalised strings, so anagrams stay different.

Rules shared by every mode but `exact`:

- a trailing parenthetical remark after a space is dropped, never multiplied in: `12 (10+2)` is `12`;
- a trailing unit after a number is dropped (`8 legs` is `8`, `90°` is `90`), but when both answers name a
  unit the units must agree (`3 apples` is not `3 pears`); number words (`million`, `pi`, `half`) are kept;
- lists, tuples and sets are compared item by item: `(1, 2)`, `[1, 2]` and a bare `1, 2` are one ordered
  pair, except that `(1, 2)` and `[1, 2]` are different intervals; `{1, 2}` = `{2, 1}` (a bare list takes
  the other side's brackets); a single answer never equals a list (`3` is not `3, 3`);
- plain numbers are compared exactly (`Fraction`), not through math-verify, which rounds to 6 decimals
  (`0.0000001` = `0.0000002` for it); only a fraction against a rounded decimal (`1/3` vs `0.3333333`)
  is left to math-verify; an item longer than `MAX_MATH_CHARS` is compared as text only.

Equivalence is symmetric. Grouping is greedy and reproducible: answers are visited in sample order; each
joins the first existing group whose *representative* (that group's first answer) is equivalent to it,
otherwise it starts a new group. `None` (unparsed) never joins a group.

Vote and ties (`vote`, `majority`): the winning group has the largest total weight (a count when no
weights are given); ties go to the group whose first member came earliest in sample order. So the same
samples in the same order always give the same winner, and a tie is decided by which answer was seen first.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Sequence, get_args

from .answer_form import Number, as_number, clean, split_items, strip_remark

Equivalence = Literal["auto", "exact", "numeric", "math"]
MODES: tuple[str, ...] = get_args(Equivalence)
MAX_MATH_CHARS = 400  # longer items are compared as text: math-verify's parser slows down badly on long input
EQUIVALENCE_VERSION = "eq2"  # bump when a verdict of `equivalent` changes: recorded in task versions

_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_MATH_NAMES = re.compile(r"(?<![A-Za-z])(?:sqrt|cbrt|sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan|sinh|cosh|tanh|"
                         r"log|ln|exp|pi|inf|infty|oo|mod|gcd|lcm|min|max|abs|det)(?![A-Za-z])")
_WORD = re.compile(r"[A-Za-z]{2,}")


def normalize(answer: str) -> str:
    """The `exact` comparison key.

    >>> normalize("  $ 12 $. "), normalize("Paris"), normalize("a   b"), normalize("\\\\boxed{1,000}")
    ('12', 'paris', 'a b', '1000')
    """
    return clean(answer).lower()


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
    """Whether `auto` compares this (single) answer with math-verify.

    >>> looks_mathematical("\\\\frac{1}{2}"), looks_mathematical("x^2+1"), looks_mathematical("sqrt(2)")
    (True, True, True)
    >>> looks_mathematical("hello"), looks_mathematical("2, 3")
    (False, False)
    """
    stripped = _MATH_NAMES.sub(" ", _LATEX_CMD.sub(" ", answer))
    return not _WORD.search(stripped) and not _top_level_separator(stripped)


def _timeout() -> int | None:
    """math-verify's timeouts use SIGALRM, which only works in the main thread."""
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=65536)
def _parsed(answer: str) -> tuple:
    from math_verify import parse

    answer = re.sub(r"(?<!\\)%", r"\\%", answer)  # a bare % starts a LaTeX comment
    candidates = [answer] if ("$" in answer or "\\boxed" in answer) else [f"${answer}$", answer]
    for candidate in candidates:
        try:
            result = parse(candidate, parsing_timeout=_timeout())
        except Exception:
            result = []
        if result:
            return tuple(result)
    return ()


def _math_equal(a: str, b: str) -> bool:
    """math-verify in both directions (its `verify(gold, target)` is not symmetric, a vote must be)."""
    from math_verify import verify

    pa, pb = _parsed(a), _parsed(b)
    if not pa or not pb:
        return False
    for gold, target in ((pa, pb), (pb, pa)):
        try:
            if verify(list(gold), list(target), timeout_seconds=_timeout()):
                return True
        except Exception:
            pass
    return False


def _same_number(a: Number, b: Number) -> bool | None:
    """Exact verdict on two plain numbers, or None to leave it to math-verify (`1/3` vs `0.3333333`)."""
    if a.percent != b.percent:
        p, q = (a, b) if a.percent else (b, a)
        if q.value in (p.value, p.value / 100):  # `50%` is 50 or 0.5, as math-verify reads it
            return True
    elif a.value == b.value:
        return True
    rounded = [n for n in (a, b) if not n.terminating and not _terminates(n.value)]
    return None if len(rounded) == 1 and (a.terminating or b.terminating) else False


def _terminates(value) -> bool:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _same_item(a: str, b: str, mode: str) -> bool:
    """Two cleaned single answers (no top-level list) under `mode` (not `exact`)."""
    (ca, ua), (cb, ub) = strip_remark(a), strip_remark(b)
    if ua and ub and ua != ub:
        return False
    if ca.lower() == cb.lower():
        return True
    na, nb = as_number(ca), as_number(cb)
    if na and nb:
        verdict = _same_number(na, nb)
        if verdict is not None:
            return verdict
    if mode == "numeric" or (mode == "auto" and not (looks_mathematical(ca) and looks_mathematical(cb))):
        return False
    if max(len(ca), len(cb)) > MAX_MATH_CHARS:
        return False
    return _math_equal(ca, cb)


def _same(a: str, b: str, mode: str, depth: int = 0) -> bool:
    """Two cleaned answers, lists item by item (see the module docstring); nesting past 20 compares as text."""
    if a.lower() == b.lower():
        return True
    (ka, ia), (kb, ib) = split_items(a), split_items(b)
    if depth > 20:
        return False
    if ka is None and kb is None:
        return _same_item(a, b, mode)
    if ka is None or kb is None or len(ia) != len(ib):
        return False
    kinds = {ka, kb} - {"bare"}
    if len(kinds) > 1 and ("{}" in kinds or len(ia) == 2):
        return False
    if "{}" not in kinds:
        return all(_same(x, y, mode, depth + 1) for x, y in zip(ia, ib))
    left = list(ib)
    for x in ia:
        j = next((j for j, y in enumerate(left) if _same(x, y, mode, depth + 1)), None)
        if j is None:
            return False
        left.pop(j)
    return True


@lru_cache(maxsize=65536)
def _equivalent(a: str, b: str, mode: str) -> bool:
    ca, cb = clean(a), clean(b)
    if ca.lower() == cb.lower():
        return True
    return mode != "exact" and _same(ca, cb, mode)


def equivalent(a: str, b: str, mode: Equivalence = "auto") -> bool:
    """Whether two extracted answers are the same answer under `mode` (symmetric).

    >>> equivalent("1/2", "0.5"), equivalent("\\\\frac{1}{2}", "0.5"), equivalent("2", "3")
    (True, True, False)
    >>> equivalent("hello", "olleh"), equivalent("Paris", "paris."), equivalent("1/2", "0.5", "exact")
    (False, True, False)
    >>> equivalent("12 (10+2)", "144"), equivalent("8 legs", "8"), equivalent("1,000", "1 000")
    (False, True, True)
    """
    if mode not in MODES:
        raise ValueError(f"equivalence mode must be one of {', '.join(MODES)}, got {mode!r}.")
    if a == b:
        return True
    return _equivalent(*sorted((a, b)), mode)


def answer_mode(task: Any) -> Equivalence:
    """The equivalence a task's answers are compared with: its `answer_match` attribute, else `auto`."""
    mode = getattr(task, "answer_match", None) or "auto"
    if mode not in MODES:
        raise ValueError(f"task.answer_match must be one of {', '.join(MODES)}, got {mode!r}.")
    return mode


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


def majority(answers: Sequence[str | None], mode: Equivalence = "auto") -> tuple[str | None, list[int]]:
    """(label, positions of the samples that agree with it): the unweighted vote, label stripped.

    >>> majority(["8 legs", None, "9", " 8", "9"])       # 8 and 9 tie on two votes: 8 was seen first
    ('8 legs', [0, 3])
    >>> majority([None])
    (None, [])
    """
    v = vote(answers, None, mode)
    if v.winner is None:
        return None, []
    return v.winner.answer.strip(), list(v.winner.members)


def _weights(answers: Sequence[str | None], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(answers)
    if len(weights) != len(answers):
        raise ValueError(f"{len(weights)} weights for {len(answers)} answers.")
    if any(w < 0 for w in weights):
        raise ValueError("vote weights must be >= 0 (a scorer returning log-probabilities needs exp first).")
    return [float(w) for w in weights]
