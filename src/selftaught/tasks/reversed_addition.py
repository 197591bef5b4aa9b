"""Reversed addition with digit levels: the length-generalization task of Lee et al. 2025
("Self-Improving Transformers Overcome Easy-to-Hard and Length Generalization Challenges").

Level L: both operands have exactly L digits (first digit 1-9). As in the paper's code, operands and sum
are written least significant digit first and the sum is padded with zeros to L+1 digits, so a
right answer has exactly L+1 characters:

    123 + 456 = 579   ->   prompt "321+654="   answer "9750"

Prompts are plain text (a character-level model continues after `=`; recipe key `prompt.format: plain`).
`score` is exact string equality; a completion that is not exactly L+1 digits is `unparsed`: that is the
length/format filter of the paper's self-labelling (`label_ok`), so an unparsed sample never votes.
Problems of the `train` and `eval` splits never share an operand pair (a hash of the pair decides its
split). Use it as `task.callable: selftaught.tasks.reversed_addition:task`.
"""

from __future__ import annotations

import hashlib
import random
import re

from ..core.errors import ConfigError
from ..core.records import Problem, Score

__all__ = ["ReversedAdditionTask", "task", "reversed_sum"]

EVAL_SHARE = 8  # one operand pair in 8 belongs to the eval split
DEFAULT_LEVELS = (1, 8)  # levels mixed when problems() is asked for no level
MAX_LEVEL = 100  # the most digits a curriculum may ask for
_PROMPT = re.compile(r"^(\d+)\+(\d+)=$")


def reversed_sum(a: int, b: int, level: int) -> str:
    """The answer as written: a+b, least significant digit first, padded with zeros to level+1 digits.

    >>> reversed_sum(123, 456, 3), reversed_sum(999, 1, 3), reversed_sum(5, 5, 1)
    ('9750', '0001', '01')
    """
    return str(a + b)[::-1].ljust(level + 1, "0")


def _split_of(a: int, b: int) -> str:
    digest = hashlib.sha1(f"{a}+{b}".encode()).digest()
    return "eval" if digest[0] % EVAL_SHARE == 0 else "train"


def _operands(rng: random.Random, level: int, split: str) -> tuple[int, int]:
    """An operand pair of `level` digits each belonging to `split` (rejection sampling on the pair's hash)."""
    low, high = (1, 9) if level == 1 else (10 ** (level - 1), 10 ** level - 1)
    while True:
        a, b = rng.randint(low, high), rng.randint(low, high)
        if _split_of(a, b) == split:
            return a, b


class ReversedAdditionTask:
    """Reversed addition of two L-digit numbers; `level` = L (digits per operand)."""

    name = "reversed_addition"
    version = "1"

    def __init__(self, default_levels: tuple[int, int] = DEFAULT_LEVELS):
        self.default_levels = default_levels
        self.max_new_tokens = default_levels[1] + 2  # answers are level+1 characters, then EOS

    @property
    def levels(self) -> list[int]:
        """Every level a curriculum may use: 1 to 100 digits (Lee et al. went to 100). problems() with no level
        mixes `default_levels`."""
        return list(range(1, MAX_LEVEL + 1))

    def problems(self, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` problems of `split` at `level` (None: levels of `default_levels`, drawn uniformly).

        Item i comes from `seed` and i alone, so a call is reproducible and a longer list extends a shorter one.
        """
        if split not in ("train", "eval"):
            raise ConfigError(f"reversed_addition: split must be `train` or `eval`, got {split!r}.")
        if level is not None and (not isinstance(level, int) or level < 1):
            raise ConfigError(f"reversed_addition: a level is the number of digits per operand, an integer >= 1; "
                              f"got {level!r}.")
        out = []
        for i in range(n):
            rng = random.Random(f"{split}:{seed}:{level}:{i}")
            lv = level if level is not None else rng.randint(*self.default_levels)
            a, b = _operands(rng, lv, split)
            out.append(Problem(
                id=f"radd-{split}-{seed}-L{lv}-{i}" if level is not None else f"radd-{split}-{seed}-{i}",
                prompt=f"{str(a)[::-1]}+{str(b)[::-1]}=", answer=reversed_sum(a, b, lv),
                meta={"task": self.name, "level": lv, "source": self.name}))
        return out

    @staticmethod
    def answer_length(problem: Problem) -> int:
        """Characters of a well-formed answer: the longer operand's digits + 1 (read from the prompt, not the
        gold answer, so the filter works on unlabelled problems)."""
        text = problem.prompt if isinstance(problem.prompt, str) else str(problem.prompt[-1]["content"])
        match = _PROMPT.match(text.strip())
        if match is None:
            raise ConfigError(f"reversed_addition: problem {problem.id!r} has no `A+B=` prompt: {text[:60]!r}.")
        return max(len(match.group(1)), len(match.group(2))) + 1

    def label_ok(self, problem: Problem, answer: str | None) -> bool:
        """The length/format filter: exactly answer_length(problem) digits.

        >>> t = ReversedAdditionTask(); p = t.problems("train", 1, 0, level=3)[0]
        >>> t.label_ok(p, p.answer), t.label_ok(p, p.answer[:-1]), t.label_ok(p, "9x50")
        (True, False, False)
        """
        return answer is not None and answer.isdigit() and answer.isascii() and len(answer) == self.answer_length(problem)

    def score(self, problem: Problem, completion: str) -> Score:
        """`correct` when the completion is the gold answer exactly; `unparsed` when it fails `label_ok`."""
        answer = completion.strip()
        if not self.label_ok(problem, answer):
            return Score(problem.id, answer or None, "unparsed", 0.0)
        right = answer == problem.answer
        return Score(problem.id, answer, "correct" if right else "incorrect", float(right))


def task() -> ReversedAdditionTask:
    """The task `task.callable: selftaught.tasks.reversed_addition:task` names."""
    return ReversedAdditionTask()
