"""Variants of failing problems written by a teacher model, for sources without a generator (JSONL files).

The teacher is any OpenAI-compatible server (`models.openai_backend.OpenAIGenerator`). For each failing
problem it is shown the problem and its answer and asked for a new problem testing the same skill, with
its answer (`VARIANT_PROMPT`, reply `Problem: ...` / `Answer: ...`). It then solves each variant
`n_votes` times (`SOLVE_PROMPT`); the answers are grouped by the task's answer equivalence (numbers by
value, formulas through math-verify: `scoring.equivalence.vote`). A variant is kept when the largest group
holds at least `agreement` of the votes and agrees with the answer the teacher wrote; that answer becomes
its gold answer. Every variant, kept or not, is returned with its votes, so the run directory records why.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.records import Problem, SamplingParams
from ..tasks.extract import extract_answer
from ..tasks.prompts import build_messages

VARIANT_PROMPT = (
    "Here is a problem and its answer.\n\nProblem: {question}\nAnswer: {answer}\n\n"
    "Write one new problem that tests the same skill at the same difficulty, with different numbers or "
    "details, and give its answer. Reply in exactly this form:\nProblem: <the new problem>\nAnswer: <its final answer>")
SOLVE_PROMPT = "Solve this problem. End with a line `Answer: <final answer>`.\n\nProblem: {question}"
_VARIANT = re.compile(r"Problem:\s*(?P<q>.+?)\s*\n\s*(?:\*\*)?Answer:\s*(?P<a>.+?)\s*$", re.S)


def parse_variant(text: str) -> tuple[str, str] | None:
    """(question, answer) from a teacher's `Problem: ... Answer: ...` reply, or None.

    >>> parse_variant("Problem: What is 3 + 4?\\nAnswer: 7")
    ('What is 3 + 4?', '7')
    >>> parse_variant("I cannot do that.") is None
    True
    """
    m = _VARIANT.search(text.strip())
    if not m or not m.group("q").strip() or not m.group("a").strip():
        return None
    return m.group("q").strip(), m.group("a").strip().splitlines()[0].strip()


def teacher_variants(teacher: Any, rows: list[tuple[dict[str, Any], int]], opts: Any, mode: str,
                     seeds: tuple[int, int]) -> list[dict[str, Any]]:
    """Variants of each (failing row, count): dicts with from, arm, question, answer, votes, share, kept, reason.

    `teacher` is a Generator (OpenAIGenerator); `opts` the synthesis.teacher section; `mode` the task's
    answer equivalence; `seeds` the seeds of the writing and the solving requests.
    """
    from ..scoring.equivalence import equivalent, vote

    if not rows:
        return []
    width = max(count for _, count in rows)
    params = SamplingParams(opts.temperature, 1.0, opts.max_new_tokens, seed=seeds[0], stop=())
    prompts = [[{"role": "user", "content": VARIANT_PROMPT.format(question=_question(r), answer=r["answer"])}]
               for r, _ in rows]
    written = teacher.generate(prompts, params, n=width)
    variants, seen = [], set()
    for (row, count), group in zip(rows, written):
        for sample in group[:count]:
            parsed = parse_variant(sample.text)
            item = {"from": row["id"], "arm": row["arm"], "question": None, "answer": None, "votes": [],
                    "share": 0.0, "kept": False, "reason": "unparsed"}
            if parsed and parsed[0] not in seen and parsed[0] != _question(row):
                seen.add(parsed[0])
                item.update(question=parsed[0], answer=parsed[1], reason="")
            elif parsed:
                item.update(question=parsed[0], answer=parsed[1], reason="repeated")
            variants.append(item)
    todo = [v for v in variants if not v["reason"]]
    if todo:
        solve = [[{"role": "user", "content": SOLVE_PROMPT.format(question=v["question"])}] for v in todo]
        params = SamplingParams(opts.temperature, 1.0, opts.max_new_tokens, seed=seeds[1], stop=())
        for v, group in zip(todo, teacher.generate(solve, params, n=opts.n_votes)):
            v["votes"] = [extract_answer(s.text) for s in group]
            result = vote(v["votes"], mode=mode)
            v["share"] = round(result.share, 6)
            agrees = result.answer is not None and equivalent(v["answer"], result.answer, mode)
            v["kept"] = result.share >= opts.agreement and agrees
            v["reason"] = "kept" if v["kept"] else ("disagrees" if result.share >= opts.agreement else "no agreement")
    return variants


def variant_problems(source: Any, variants: list[dict[str, Any]], tag: str) -> list[Problem]:
    """The kept variants as training problems of `source` (its few-shot examples and system prompt)."""
    out = []
    for j, v in enumerate(variants):
        if not v["kept"]:
            continue
        examples = source.examples() if callable(getattr(source, "examples", None)) else []
        prompt = build_messages(v["question"], examples, getattr(source, "system_prompt", None))
        meta = {"task": getattr(source, "name", "task"), "split": "train", "source": "teacher", "arm": v["arm"],
                "question": v["question"], "synth": {"from": v["from"], "teacher_share": v["share"]}}
        out.append(Problem(f"{v['from']}~{tag}-{j}", prompt, v["answer"], meta))
    return out


def _question(row: dict[str, Any]) -> str:
    meta = row.get("meta") or {}
    return str(meta.get("question") or row["id"])
