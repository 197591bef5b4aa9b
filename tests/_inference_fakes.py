"""Test doubles for the inference tests: a scripted generator and a tiny exact-answer task."""

from __future__ import annotations

from typing import Callable

from selftaught.core.records import Problem, Sample, Score
from selftaught.tasks.extract import extract_answer


class ScriptedGenerator:
    """Returns `respond(prompt, problem_id, j, params)` for sample j; records every call."""

    def __init__(self, respond: Callable) -> None:
        self.respond = respond
        self.calls: list[dict] = []

    def generate(self, prompts, params, n=1, problem_ids=None):
        ids = problem_ids or [str(i) for i in range(len(prompts))]
        self.calls.append({"prompts": prompts, "n": n, "seed": params.seed, "temperature": params.temperature,
                           "ids": list(ids)})
        out = []
        for prompt, pid in zip(prompts, ids):
            row = []
            for j in range(n):
                text = self.respond(prompt, pid, j, params)
                k = max(1, len(text.split()))
                row.append(Sample(pid, text, n_tokens=k, index=j, logprob=-0.1 * k,
                                  stats={"mean_logprob": -0.1, "self_certainty": 1.0 + j, "mean_entropy": 0.5}))
            out.append(row)
        return out


class ExactTask:
    """Problems with numeric answers; a completion is correct when its extracted answer equals the gold."""

    name, version = "exact", "1"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def problems(self, split, n, seed, level=None):
        return [Problem(pid, [{"role": "user", "content": f"question {pid}"}], ans, {"question": f"question {pid}"})
                for pid, ans in list(self.answers.items())[:n]]

    def score(self, problem, completion, sample_id=None):
        extracted = extract_answer(completion)
        if extracted is None:
            return Score(sample_id or problem.id, None, "unparsed", 0.0, "exact")
        ok = extracted.strip() == problem.answer
        return Score(sample_id or problem.id, extracted, "correct" if ok else "incorrect", float(ok), "exact")


def last_user(prompt) -> str:
    return prompt[-1]["content"] if isinstance(prompt, list) else prompt
