"""Reward functions for GRPO, with TRL's signature `fn(prompts, completions, **columns) -> list[float]`.

The dataset GRPO trains on carries a `problem_id` column; TRL passes every column to each reward
function as a keyword list aligned with `completions`, so a reward looks the problem up by id.

- `make_task_reward(task, problems_by_id)`: the task's own scorer (`Score.reward`) against the gold
  answer (verifiable rewards);
- `make_format_reward()`: 1 when a final answer parses, else 0;
- `make_majority_reward(task, problems_by_id)`: label-free (TTRL, Zuo et al. 2025): 1 when the
  completion's answer is equivalent to the majority answer of all completions of its problem in the batch
  (gathered across processes, since TRL may spread one group over several). Where the problem has
  a gold answer it logs `label_accuracy`, how often the pseudo-label is right (monitoring only);
- `SelfCertaintyReward(tokenizer)`: label-free (Intuitor, Zhao et al. 2025): the policy's own
  self-certainty over the completion tokens (mean KL(uniform || p), see scoring.confidence).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch

from ..core.errors import ConfigError
from ..core.records import Problem
from ..metrics.passk import majority_vote
from ..scoring.confidence import self_certainty_of_logits
from ..scoring.equivalence import answer_mode, equivalent
from ..tasks.extract import extract_answer

RewardFunc = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a list of messages (the last one's content).

    >>> completion_text([{"role": "assistant", "content": "Answer: 4"}]), completion_text("x")
    ('Answer: 4', 'x')
    """
    if isinstance(completion, str):
        return completion
    return str(completion[-1]["content"]) if completion else ""


def _problem(problems_by_id: Mapping[str, Problem], pid: str) -> Problem:
    try:
        return problems_by_id[pid]
    except KeyError:
        raise ConfigError(f"reward: no problem with id {pid!r}: the GRPO dataset needs a `problem_id` column "
                          "naming the round's training problems.") from None


def make_task_reward(task, problems_by_id: Mapping[str, Problem]) -> RewardFunc:
    """The task's scorer as a TRL reward: `Score.reward` of each completion against its problem.

    >>> from types import SimpleNamespace
    >>> from selftaught.core.records import Score
    >>> task = SimpleNamespace(score=lambda p, text: Score(p.id, text, "correct", float(text == p.answer)))
    >>> reward = make_task_reward(task, {"a": Problem("a", "2+2?", "4")})
    >>> reward(prompts=[[], []], completions=[[{"role": "assistant", "content": "4"}], "5"], problem_id=["a", "a"])
    [1.0, 0.0]
    """

    def verifier(prompts: list, completions: list, problem_id: Sequence[str], **kwargs: Any) -> list[float]:
        return [float(task.score(_problem(problems_by_id, pid), completion_text(c)).reward)
                for c, pid in zip(completions, problem_id)]

    return verifier


def make_format_reward() -> RewardFunc:
    """1.0 when a final answer (`Answer: ...` or `\\boxed{...}`) parses, else 0.0.

    >>> make_format_reward()(prompts=["q", "q"], completions=["so Answer: 3", "I think 3"])
    [1.0, 0.0]
    """

    def answer_format(prompts: list, completions: list, **kwargs: Any) -> list[float]:
        return [float(extract_answer(completion_text(c)) is not None) for c in completions]

    return answer_format


def _gather(items: list) -> list:
    """All processes' items (in process order) under torch.distributed, else `items`."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        from accelerate.utils import gather_object

        return gather_object(items)
    return items


def make_majority_reward(task, problems_by_id: Mapping[str, Problem]) -> RewardFunc:
    """1.0 when a completion's answer equals the majority answer of its problem's completions.

    Answers are extracted by the task's scorer; unparsed answers get 0 and do not vote; ties go to
    the answer seen first (as select rule `majority`).

    >>> from types import SimpleNamespace
    >>> from selftaught.core.records import Score
    >>> task = SimpleNamespace(score=lambda p, t: Score(p.id, t or None, "correct" if t == p.answer else "incorrect",
    ...                                                 float(t == p.answer)))
    >>> logged = {}
    >>> reward = make_majority_reward(task, {"a": Problem("a", "q", "5")})
    >>> reward(prompts=[0] * 4, completions=["5", "7", "5", ""], problem_id=["a"] * 4,
    ...        log_metric=lambda k, v: logged.update({k: v}))
    [1.0, 0.0, 1.0, 0.0]
    >>> logged
    {'label_accuracy': 1.0}
    """

    mode = answer_mode(task)  # the task's answer equivalence, as every other vote uses

    def majority(prompts: list, completions: list, problem_id: Sequence[str], log_metric=None,
                 **kwargs: Any) -> list[float]:
        scores = [task.score(_problem(problems_by_id, pid), completion_text(c))
                  for c, pid in zip(completions, problem_id)]
        local = [(pid, sc.extracted, sc.verdict) for pid, sc in zip(problem_id, scores)]
        everything = _gather(local)
        labels, right = _labels(everything, problems_by_id, mode)
        if log_metric is not None and right:
            log_metric("label_accuracy", sum(right) / len(right))
        return [float(ans is not None and labels.get(pid) is not None and equivalent(ans, labels[pid], mode))
                for pid, ans, _ in local]

    return majority


def _labels(rows: list[tuple[str, str | None, str]], problems_by_id: Mapping[str, Problem], mode: str = "auto"):
    """Majority answer per problem id, and per labelled problem whether its label is right."""
    by_pid: dict[str, list[tuple[str | None, str]]] = {}
    for pid, ans, verdict in rows:
        by_pid.setdefault(pid, []).append((ans, verdict))
    labels, right = {}, []
    for pid, items in by_pid.items():
        label, _ = majority_vote([a for a, _ in items], mode)
        labels[pid] = label
        if label is not None and problems_by_id[pid].answer is not None:
            right.append(next(v for a, v in items if a is not None and equivalent(a, label, mode)) == "correct")
    return labels, right


class SelfCertaintyReward:
    """The policy's self-certainty on each completion (higher = more confident); set `.model` first.

    The reward runs one extra forward pass (no gradient) over prompt + completion with the model
    being trained; GRPO normalises rewards within each group, so only the ranking inside a group
    matters.
    """

    __name__ = "self_certainty"

    def __init__(self, tokenizer, batch_size: int = 4):
        self.tokenizer, self.batch_size, self.model = tokenizer, batch_size, None

    def __call__(self, prompts: list, completions: list, completion_ids: list[list[int]], **kwargs: Any) -> list[float]:
        if self.model is None:
            raise RuntimeError("SelfCertaintyReward.model is not set (train_grpo sets it to the trainer's model)")
        rows = [(self._prompt_ids(p), list(ids)) for p, ids in zip(prompts, completion_ids)]
        out: list[float] = []
        for i in range(0, len(rows), self.batch_size):
            out.extend(self._batch(rows[i:i + self.batch_size]))
        return out

    def _prompt_ids(self, prompt: Any) -> list[int]:
        if isinstance(prompt, str):
            return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)

    @torch.no_grad()
    def _batch(self, rows: list[tuple[list[int], list[int]]]) -> list[float]:
        device = next(self.model.parameters()).device
        width = max(len(p) + len(c) for p, c in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (p, c) in enumerate(rows):
            ids[r, :len(p) + len(c)] = torch.tensor(p + c)
            mask[r, :len(p) + len(c)] = 1
        logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        values = []
        for r, (p, c) in enumerate(rows):
            if not c:
                values.append(0.0)
                continue
            values.append(self_certainty_of_logits(logits[r, len(p) - 1:len(p) + len(c) - 1]))
        return values


def build_rewards(reward: str, format_weight: float, task, problems: Sequence[Problem], tokenizer):
    """(reward functions, weights, the SelfCertaintyReward if any) for `train.reward` / `train.format_reward`."""
    by_id = {p.id: p for p in problems}
    holder = None
    if reward == "verifier":
        main: RewardFunc = make_task_reward(task, by_id)
    elif reward == "majority":
        main = make_majority_reward(task, by_id)
    elif reward == "self_certainty":
        main = holder = SelfCertaintyReward(tokenizer)
    else:
        raise ConfigError(f"train.reward: unknown reward {reward!r}; known: verifier, majority, self_certainty.")
    funcs, weights = [main], [1.0]
    if format_weight > 0:
        funcs.append(make_format_reward())
        weights.append(float(format_weight))
    return funcs, weights, holder
