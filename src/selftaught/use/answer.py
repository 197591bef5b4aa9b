"""Answer questions with a model: any registered test-time strategy, prompted as the run's task prompts.

The prompt is the one the run's held-out evaluation used, with the user's question in the question's
place: the task's system instruction and worked examples (`examples()`), or, for a task without them,
one of its eval prompts with the last user turn replaced. A bare model (no run, no recipe) gets the
default system instruction and the question. The backend renders the messages as the config's
`prompt.format` says (a chat template, or plain text for a base model).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from ..core.config import Config
from ..core.errors import DataError
from ..core.io import read_jsonl
from ..core.records import Problem, Prompt, Score
from ..tasks.extract import extract_answer
from ..tasks.prompts import build_messages
from .source import ModelSource

RECIPE_SECTIONS = frozenset(Config.model_fields)


class QuestionTask:
    """The task of a bare model: no worked examples; a verdict only where a gold answer is given."""

    name, version = "questions", "1"
    system_prompt = None

    def examples(self) -> list[tuple[str, str]]:
        return []

    def score(self, problem: Problem, completion: str) -> Score:
        from ..tasks.jsonl import answers_match

        extracted = extract_answer(completion)
        if extracted is None:
            return Score(problem.id, None, "unparsed", 0.0, "answer_match:auto")
        ok = problem.answer is not None and answers_match(problem.answer, extracted)
        return Score(problem.id, extracted, "correct" if ok else "incorrect", float(ok), "answer_match:auto")


def split_sets(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """(config overrides, strategy overrides): by whether the key's first part is a config field."""
    config, strategy = [], []
    for text in overrides:
        head = text.split("=", 1)[0].strip().split(".", 1)[0]
        (config if head in RECIPE_SECTIONS else strategy).append(text)
    return config, strategy


def prompt_for(task: Any, question: str, seed: int = 0) -> Prompt:
    """`question` prompted as `task` prompts its problems (see the module docstring)."""
    if task is None or callable(getattr(task, "examples", None)):
        examples = task.examples() if task is not None else []
        return build_messages(question, examples, getattr(task, "system_prompt", None))
    template = task.problems("eval", 1, seed)[0].prompt
    if isinstance(template, str):
        return question
    messages = [dict(m) for m in template]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last is None:
        return messages + [{"role": "user", "content": question}]
    messages[last]["content"] = question
    return messages[: last + 1]


def read_questions(path: str | Path, field: str = "question") -> list[dict[str, Any]]:
    """The rows of a JSONL file of questions (each with a `field`); a DataError naming the line otherwise."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"question file {p} does not exist.")
    rows = read_jsonl(p)  # names the file and line of text that is not UTF-8, not JSON or not an object
    numbers = [n for n, line in enumerate(p.read_bytes().splitlines(), 1) if line.strip()]  # rows' line numbers
    for number, row in zip(numbers, rows):
        if not str(row.get(field) or "").strip():
            raise DataError(f"{p}, line {number}: no `{field}` field (or it is empty); each line is an object "
                            f"such as {{\"{field}\": \"What is 2 + 3?\"}}.")
    if not rows:
        raise DataError(f"{p} holds no questions; write one JSON object a line with a `{field}` field.")
    return rows


def answer_questions(source: ModelSource, questions: Sequence[str | dict[str, Any]], strategy: str = "greedy",
                     options: dict[str, Any] | None = None, generator: Any = None) -> list[dict[str, Any]]:
    """Answer each question (a string or a row with `question`, optional `answer` gold and `id`) with
    `source`'s model under `strategy`. One row per question: question, answer (extracted), confidence,
    completion, tokens, strategy, and gold / verdict where a gold answer was given."""
    from ..inference import Context, build_strategy, strategy_run
    from ..inference.runner import eval_generator, label_results

    cfg_strategy = build_strategy(strategy, options or {})  # validated before a model is loaded
    rows = [q if isinstance(q, dict) else {"question": q} for q in questions]
    task = source.task if source.task is not None else QuestionTask()
    problems = [_problem(i, row, task, source.cfg.seed) for i, row in enumerate(rows)]
    generator = generator or eval_generator(source.cfg)
    ctx = Context(task, generator, seed=source.cfg.seed)
    results = strategy_run(strategy)(cfg_strategy, ctx, problems)
    labelled = label_results(task, problems, results, strategy)
    out = []
    for row, done in zip(rows, labelled):
        item = {"id": row.get("id", done["problem_id"]), "question": row["question"], "answer": done["answer"],
                "confidence": done["confidence"], "strategy": strategy, "tokens": done["tokens"],
                "completion": done["final_text"]}
        if done["gold"] is not None:
            item.update(gold=done["gold"], verdict=done["verdict"])
        if source.run_dir is not None:
            item.update(run=str(source.run_dir), round=source.round)
        out.append(item)
    return out


def _problem(index: int, row: dict[str, Any], task: Any, seed: int) -> Problem:
    question = str(row["question"]).strip()
    gold = row.get("answer")
    digest = hashlib.sha1(question.encode("utf-8")).hexdigest()[:8]
    return Problem(f"q{index}-{digest}", prompt_for(task, question, seed), None if gold is None else str(gold),
                   {"question": question, "split": "answer"})
