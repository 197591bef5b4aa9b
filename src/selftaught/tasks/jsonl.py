"""Problems from a JSONL file or a saved HF `datasets` folder; answers checked by `scoring.equivalence`.

Split: each question goes to "eval" when the sha1 of its (stripped) text falls in 1 bucket of 5,
otherwise to "train". The split is a property of the text alone, so the two never overlap and stay
the same across runs, seeds and sizes. Repeated questions are kept once (first occurrence).
The few-shot examples are the `few_shot` train questions with the smallest hashes (stable), and
they are removed from the train pool. `problems(split, n, seed)` samples `n` of the split with
`seed`; fewer than `n` available returns them all with a warning; an empty split is an error.

A `datasets` folder may hold a `Dataset` or a `DatasetDict`; a DatasetDict's splits are pooled and
re-split as above (its own train/test split is not used, so that the rule is the same everywhere).

Levels: when every row has an integer `level` (else `difficulty`) field, or the field `level_field`
names, `problems(split, n, seed, level=L)` samples only the questions at level L (`levels` lists them);
the split itself does not depend on levels.

Scoring compares the extracted final answer with the gold one under `answer_match` (`auto` by default:
numbers by value, formulas through math-verify, words as normalised strings; see `scoring.equivalence`).
"""

from __future__ import annotations

import hashlib
import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, DataError
from ..core.io import read_jsonl
from ..core.records import Problem, Score
from .extract import extract_answer
from .kinds import TASK_KINDS
from .prompts import PROMPT_VERSION, WorkedExample, build_messages, default_worked_example

if TYPE_CHECKING:
    from ..scoring.equivalence import Equivalence

__all__ = ["JsonlTask", "answers_match", "EVAL_ONE_IN"]

log = logging.getLogger("selftaught.tasks")

EVAL_ONE_IN = 5  # 1 question in 5 is held out for eval
SPLIT_VERSION = "s1"


def _hash(question: str) -> int:
    """A stable integer from the question text (sha1): decides its split."""
    return int(hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:12], 16)


def answers_match(gold: str, pred: str, mode: Equivalence = "auto") -> bool:
    """True when `pred` is the same answer as `gold` under `mode` (see `scoring.equivalence`).

    >>> answers_match("\\\\frac{1}{2}", "0.5"), answers_match("1/2", "0.5"), answers_match("2", "3")
    (True, True, False)
    >>> answers_match("Paris", " paris. "), answers_match("Paris", "Pairs"), answers_match("8", "8 legs")
    (True, False, True)
    >>> answers_match("1/2", "0.5", mode="exact")
    False
    """
    from ..scoring.equivalence import equivalent  # here: the scoring package imports torch, tasks need not

    return equivalent(gold, pred, mode)


def _line_number(path: Path, row_index: int) -> int:
    """1-based line number of the `row_index`-th non-blank line (read_jsonl skips blank lines)."""
    with open(path, encoding="utf-8") as f:
        count = -1
        for lineno, line in enumerate(f, 1):
            if line.strip():
                count += 1
                if count == row_index:
                    return lineno
    return row_index + 1


def _load_rows(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """Rows of a JSONL file or a saved `datasets` folder; the flag says whether it was JSONL."""
    if not path.exists():
        raise DataError(f"{path}: not found. task.path takes a JSONL file or a folder saved with `datasets.save_to_disk`.")
    if not path.is_dir():
        return read_jsonl(path), True
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as e:
        raise DataError(f"{path}: not a folder saved with `datasets.save_to_disk` ({type(e).__name__}: {e}).") from None
    parts = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
    return [dict(row) for part in parts for row in part], False


def _split(unique: dict[str, str], few_shot: int) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """({"train": pairs, "eval": pairs}, shots): eval by hash, shots = lowest-hash train pairs, file order kept."""
    is_eval = {q: _hash(q) % EVAL_ONE_IN == 0 for q in unique}
    shots = sorted((q for q in unique if not is_eval[q]), key=_hash)[: max(0, few_shot)]
    shot_set = set(shots)
    pool = {
        "eval": [(q, a) for q, a in unique.items() if is_eval[q]],
        "train": [(q, a) for q, a in unique.items() if not is_eval[q] and q not in shot_set],
    }
    return pool, [(q, unique[q]) for q in shots]


class JsonlTask:
    """Question/answer pairs from `path` (JSONL or `datasets` folder); see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        question_field: str = "question",
        answer_field: str = "answer",
        few_shot: int = 2,
        system_prompt: str | None = None,
        name: str | None = None,
        worked_example: WorkedExample | None = None,
        answer_match: Equivalence = "auto",
        level_field: str | None = None,
    ):
        from ..scoring.equivalence import EQUIVALENCE_VERSION, MODES  # here: the scoring package imports torch

        if answer_match not in MODES:
            raise ConfigError(f"task.answer_match: must be one of {', '.join(MODES)}, got {answer_match!r}.")
        self.answer_match = answer_match
        self.path = Path(path)
        self.question_field, self.answer_field = question_field, answer_field
        self.system_prompt = system_prompt
        self.name = name or self.path.stem
        rows, is_jsonl = _load_rows(self.path)
        unique: dict[str, str] = {}
        for question, answer in self._pairs(rows, is_jsonl):
            unique.setdefault(question, answer)  # repeated questions: the first one is kept
        self.level_field, self._level = self._read_levels(rows, is_jsonl, level_field)
        self.levels = sorted(set(self._level.values())) if self.level_field else None
        fingerprint = hashlib.sha1(repr(sorted(unique.items())).encode()).hexdigest()[:10]
        self.version = (f"jsonl={fingerprint};prompt={PROMPT_VERSION};split={SPLIT_VERSION};"
                        f"match={answer_match}:{EQUIVALENCE_VERSION}")
        self._pool, shots = _split(unique, few_shot)
        shape = worked_example or default_worked_example
        self._shots = [(q, shape(q, a, {})) for q, a in shots]

    def _where(self, index: int, is_jsonl: bool) -> str:
        """'file, line N' for JSONL (counting blank lines), 'folder, row N' for a datasets folder."""
        if is_jsonl:
            return f"{self.path}, line {_line_number(self.path, index)}"
        return f"{self.path}, row {index}"

    def _pairs(self, rows: list[dict[str, Any]], is_jsonl: bool) -> list[tuple[str, str]]:
        """(question, answer) strings of every row; a missing or empty field is a DataError."""
        if not rows:
            raise DataError(f"{self.path}: no rows; a task needs at least one question/answer pair.")
        pairs = []
        for index, row in enumerate(rows):
            for field in (self.question_field, self.answer_field):
                if row.get(field) is None or str(row[field]).strip() == "":
                    have = ", ".join(sorted(map(str, row))) or "(none)"
                    raise DataError(
                        f"{self._where(index, is_jsonl)}: no `{field}` field (or it is empty). This line has "
                        f"fields: {have}. Set task.question_field / task.answer_field to the right names."
                    )
            pairs.append((str(row[self.question_field]).strip(), str(row[self.answer_field]).strip()))
        return pairs

    def _read_levels(self, rows: list[dict[str, Any]], is_jsonl: bool,
                     field: str | None) -> tuple[str | None, dict[str, int]]:
        """(level field, question -> level): `field` when given (every row needs an integer there), else
        `level` or `difficulty` when every row has an integer in it, else (None, {})."""
        candidates = [field] if field else [f for f in ("level", "difficulty") if all(f in row for row in rows)]
        for name in candidates:
            levels: dict[str, int] = {}
            for index, row in enumerate(rows):
                value = row.get(name)
                if isinstance(value, bool) or not (isinstance(value, int) or str(value).strip().lstrip("-").isdigit()):
                    if field is None:
                        break  # a field that merely shares the name: no levels
                    raise DataError(f"{self._where(index, is_jsonl)}: task.level_field `{field}` must hold an "
                                    f"integer level, got {value!r}.")
                levels.setdefault(str(row[self.question_field]).strip(), int(value))
            else:
                return name, levels
        return None, {}

    def examples(self) -> list[tuple[str, str]]:
        """The few-shot (question, worked answer) pairs: fixed, taken from train, in neither split."""
        return list(self._shots)

    def problems(self, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` problems of `split` sampled with `seed` (all of them, with a warning, if fewer exist)."""
        if split not in self._pool:
            raise ConfigError(f"split must be 'train' or 'eval', got {split!r}.")
        pool = self._pool[split]
        if level is not None:
            if not self.level_field:
                raise ConfigError(f"{self.path}: this file has no level field (`level` or `difficulty`; set "
                                  f"task.level_field), so it cannot be drawn at level {level}.")
            if level not in self.levels:
                raise ConfigError(f"{self.path}: no question at level {level}; its levels: {self.levels}.")
            pool = [(q, a) for q, a in pool if self._level[q] == level]
        if not pool:
            raise DataError(
                f"{self.path}: the {split} split is empty ({sum(map(len, self._pool.values()))} other questions): "
                f"1 question in {EVAL_ONE_IN} goes to eval by a hash of its text, so add more rows."
            )
        if n > len(pool):
            log.warning("%s: asked for %d %s problems, only %d exist; using all of them.", self.path, n, split, len(pool))
        chosen = random.Random(seed).sample(pool, min(n, len(pool)))
        return [self._problem(q, a, split, self._level.get(q)) for q, a in chosen]

    def _problem(self, question: str, answer: str, split: str, level: int | None = None) -> Problem:
        """A Problem whose id hashes the question: the same problem keeps its id across runs."""
        digest = hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]
        meta = {"task": self.name, "split": split, "source": str(self.path), "question": question}
        if level is not None:
            meta["level"] = level
        return Problem(
            id=f"{self.name}-{digest}",
            prompt=build_messages(question, self._shots, self.system_prompt),
            answer=answer,
            meta=meta,
        )

    def score(self, problem: Problem, completion: str) -> Score:
        """Extract the answer and compare it with `problem.answer` under `answer_match`."""
        sid = problem.id  # the caller (the loop) stamps the sample's id
        extracted = extract_answer(completion)
        source = f"answer_match:{self.answer_match}"
        if extracted is None:
            return Score(sid, None, "unparsed", 0.0, source)
        ok = problem.answer is not None and answers_match(problem.answer, extracted, self.answer_match)
        return Score(sid, extracted, "correct" if ok else "incorrect", 1.0 if ok else 0.0, source)


def _jsonl_task(cfg) -> JsonlTask:
    if cfg.options:
        raise ConfigError("task.options only applies to reasoning-gym tasks (task.name); remove it for task.path.")
    return JsonlTask(cfg.path, cfg.question_field, cfg.answer_field, cfg.few_shot, cfg.system_prompt,
                     answer_match=cfg.answer_match, level_field=cfg.level_field)


TASK_KINDS.register("path", _jsonl_task)
