"""LLM-as-judge: a model is asked whether a proposed solution is correct; the reward is P(yes).

The judge sees the question (from `problem.meta["question"]`, else the last user message) and the
sample's text in one user message (`JUDGE_PROMPT`), and we read the next-token distribution after the
chat template's assistant prefix. With `p_yes` the total probability of the tokens that spell "yes"
(`yes`, `Yes`, ` yes`, ...) and `p_no` likewise, the reward is `p_yes / (p_yes + p_no)`: a probability
in [0, 1] that ignores mass on other tokens. A generator without a model (a remote server) falls
back to a 3-token greedy reply: 1.0 if it starts with "yes", else 0.0.

Identical (question, text) pairs are judged once (the cache lives as long as the scorer), and the
prompt tokens the judge read are counted in `judge.prompt_tokens` (the judge generates nothing).
"""

from __future__ import annotations

import re
from typing import Any

import torch

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, SamplingParams
from .spec import SCORERS, Scorer

JUDGE_VERSION = "j1"
JUDGE_PROMPT = (
    "Question: {question}\n\nProposed solution:\n{solution}\n\n"
    "Is the final answer of the proposed solution correct? Reply with one word: yes or no."
)
_YES, _NO = ("yes", "Yes", "YES", " yes", " Yes"), ("no", "No", "NO", " no", " No")


def question_of(problem: Problem) -> str:
    """The bare question text of a problem (no system prompt, no few-shot examples)."""
    question = problem.meta.get("question") if problem.meta else None
    if question:
        return str(question)
    if isinstance(problem.prompt, str):
        return problem.prompt
    users = [m["content"] for m in problem.prompt if m.get("role") == "user"]
    return users[-1] if users else ""


def _first_token_ids(tokenizer: Any, words: tuple[str, ...]) -> list[int]:
    """Ids of the first token of each spelling, when that token is a non-empty prefix of the word
    (the whole word for BPE vocabularies, its first letter for a character-level one)."""
    ids: list[int] = []
    for word in words:
        encoded = tokenizer.encode(word, add_special_tokens=False)
        piece = tokenizer.decode(encoded[:1]).strip().lower() if encoded else ""
        if piece and word.strip().lower().startswith(piece) and encoded[0] not in ids:
            ids.append(encoded[0])
    return ids


class Judge:
    """A reward function `judge(problems, samples) -> list[float]` backed by `generator`'s model."""

    def __init__(self, generator: Any, batch_size: int = 16, prompt: str = JUDGE_PROMPT) -> None:
        self.generator, self.batch_size, self.prompt = generator, batch_size, prompt
        self.cache: dict[tuple[str, str], float] = {}
        self.prompt_tokens = 0
        self.calls = 0
        self.has_logits = all(hasattr(generator, a) for a in ("model", "tokenizer", "encode"))
        if self.has_logits:
            self.yes_ids = _first_token_ids(generator.tokenizer, _YES)
            self.no_ids = _first_token_ids(generator.tokenizer, _NO)
            self.has_logits = bool(self.yes_ids and self.no_ids) and not set(self.yes_ids) & set(self.no_ids)

    def messages(self, problem: Problem, sample: Sample) -> list[dict[str, str]]:
        text = self.prompt.format(question=question_of(problem), solution=sample.text.strip())
        return [{"role": "user", "content": text}]

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        keys, todo = pending(problems, samples, self.cache, self.messages)
        items = list(todo.items())
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            values = self._p_yes([m for _, m in chunk]) if self.has_logits else self._reply([m for _, m in chunk])
            self.cache.update({key: v for (key, _), v in zip(chunk, values)})
        return [self.cache[k] for k in keys]

    def _p_yes(self, prompts: list[list[dict[str, str]]]) -> list[float]:
        gen = self.generator
        ids = gen.encode(prompts)
        self.prompt_tokens += sum(map(len, ids))
        self.calls += len(ids)
        width = max(map(len, ids))
        pad = gen.tokenizer.pad_token_id if gen.tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, row in enumerate(ids):
            input_ids[r, width - len(row):] = torch.tensor(row)
            mask[r, width - len(row):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens start at position 0
        device = next(gen.model.parameters()).device
        with torch.inference_mode():
            out = gen.model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                            position_ids=positions.to(device), logits_to_keep=1)
        probs = torch.softmax(out.logits[:, -1, :].float(), dim=-1).cpu()
        p_yes, p_no = probs[:, self.yes_ids].sum(-1), probs[:, self.no_ids].sum(-1)
        return [float(y / (y + n)) if float(y + n) > 0 else 0.5 for y, n in zip(p_yes, p_no)]

    def _reply(self, prompts: list[list[dict[str, str]]]) -> list[float]:
        outs = self.generator.generate(prompts, SamplingParams(temperature=0.0, max_new_tokens=3), n=1)
        self.calls += len(prompts)
        return [1.0 if re.match(r"\s*yes\b", o[0].text, re.IGNORECASE) else 0.0 for o in outs]


def make_judge(generator: Any, batch_size: int = 16, prompt: str = JUDGE_PROMPT) -> Judge:
    """An LLM-as-judge reward function using `generator`'s model (pass another model's generator to
    judge with a different model). See the module docstring for how P(yes) is read."""
    return Judge(generator, batch_size=batch_size, prompt=prompt)


def _build_judge(generator: Any = None) -> Judge:
    if generator is None:
        raise ConfigError("the judge scorer needs a generator (the model that judges).")
    return make_judge(generator)


SCORERS.register("judge", Scorer(_build_judge, bounded=True))


def pending(problems: list[Problem], samples: list[Sample], cache: dict, messages) -> tuple[list, dict]:
    """(a (question, answer) key per sample, {key: messages(problem, sample)} for the keys not in `cache`):
    each distinct answer to a question is judged once, however often it appears."""
    if len(problems) != len(samples):
        raise ValueError(f"judge: {len(problems)} problems for {len(samples)} samples.")
    keys = [(question_of(p), s.text.strip()) for p, s in zip(problems, samples)]
    todo: dict[tuple[str, str], list[dict[str, str]]] = {}
    for key, problem, sample in zip(keys, problems, samples):
        if key not in cache and key not in todo:
            todo[key] = messages(problem, sample)
    return keys, todo
