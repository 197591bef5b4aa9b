"""GRPO's reward functions: scorers of the one family `fn(problems, samples) -> list[float]`, handed to TRL
through `trl_reward`, an adapter to TRL's `reward_func(prompts, completions, **columns) -> list[float]`.

The family's signature (see `scoring.spec`) is the project's own, not TRL's: `samples[i]` answers
`problems[i]`. The GRPO dataset carries a `problem_id` column; TRL passes every column to each reward
function as a keyword list aligned with `completions`, so the adapter looks each problem up by id and
builds one `Sample` per completion (text, token count; TRL's completion token ids in
`sample.params["completion_ids"]`), each problem carrying the prompt TRL generated from. A reward
function may keep a `metrics` dict, which the adapter logs through TRL's `log_metric` after each call.

Registered in `REWARDS` (train.grpo.reward; a user's own reward function is named `module:object`):

- `verifier`: the task's own scorer (`Score.reward`) against the gold answer (verifiable rewards);
- `majority`: label-free (TTRL, Zuo et al. 2025): 1 when the completion's answer is equivalent to the majority
  answer of all completions of its problem in the batch (gathered across processes, since TRL may
  spread one group over several). Where the problem has a gold answer it logs `label_accuracy`, how
  often the pseudo-label is right (monitoring only);
- `self_certainty`: label-free (Intuitor, Zhao et al. 2025): the policy's own self-certainty over the
  completion tokens (mean KL(uniform || p), see scoring.confidence).

`make_format_reward()` (1 when a final answer parses) is added with weight train.grpo.format_reward.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import torch

from ..core.errors import ConfigError
from ..core.protocols import RewardFn
from ..core.records import Problem, Sample
from ..core.registry import Registry
from ..metrics.passk import majority_vote
from ..scoring.confidence import self_certainty_of_logits
from ..scoring.equivalence import answer_mode, equivalent
from ..scoring.spec import Scorer, as_scorer
from ..tasks.extract import extract_answer

# TRL's reward-function shape: reward_func(prompts, completions, **columns) -> list[float]
TRLRewardFunc = Callable[..., list[float]]

REWARDS: Registry[Scorer] = Registry("reward", package=None)


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


def trl_reward(fn: RewardFn, problems_by_id: Mapping[str, Problem], name: str | None = None) -> TRLRewardFunc:
    """`fn` (the family's signature) as a TRL reward function, named `name` (TRL logs `rewards/NAME/mean`).

    >>> def length(problems, samples):
    ...     return [float(len(s.text)) for s in samples]
    >>> reward = trl_reward(length, {"a": Problem("a", "q", "4")})
    >>> reward(prompts=["q", "q"], completions=["ab", [{"role": "assistant", "content": "abc"}]],
    ...        problem_id=["a", "a"], completion_ids=[[1, 2], [1, 2, 3]]), reward.__name__
    ([2.0, 3.0], 'length')
    """

    def reward_func(prompts: list, completions: list, problem_id: Sequence[str] | None = None,
                    completion_ids: Sequence[Sequence[int]] | None = None, log_metric=None,
                    **kwargs: Any) -> list[float]:
        if problem_id is None:
            problem_id = [None] * len(completions)
        # each problem carries the prompt TRL generated from (the chat messages the dataset holds)
        problems = [replace(_problem(problems_by_id, pid), prompt=p) if pid is not None else Problem("", p)
                    for pid, p in zip(problem_id, prompts)]
        ids = list(completion_ids) if completion_ids is not None else [None] * len(completions)
        samples = [Sample(p.id, completion_text(c), len(t) if t is not None else 0, index=i,
                          params={} if t is None else {"completion_ids": list(t)})
                   for i, (p, c, t) in enumerate(zip(problems, completions, ids))]
        values = [float(v) for v in fn(problems, samples)]
        if log_metric is not None:
            for key, value in getattr(fn, "metrics", {}).items():
                log_metric(key, value)
        return values

    reward_func.__name__ = name or getattr(fn, "__name__", type(fn).__name__)
    return reward_func


def make_task_reward(task) -> RewardFn:
    """The task's scorer as a reward: `Score.reward` of each sample against its problem.

    >>> from types import SimpleNamespace
    >>> from selftaught.core.records import Score
    >>> task = SimpleNamespace(score=lambda p, text: Score(p.id, text, "correct", float(text == p.answer)))
    >>> make_task_reward(task)([Problem("a", "2+2?", "4")] * 2, [Sample("a", "4", 1), Sample("a", "5", 1)])
    [1.0, 0.0]
    """

    def verifier(problems: list[Problem], samples: list[Sample]) -> list[float]:
        return [float(task.score(p, s.text).reward) for p, s in zip(problems, samples)]

    return verifier


def make_format_reward() -> RewardFn:
    """1.0 when a final answer (`Answer: ...` or `\\boxed{...}`) parses, else 0.0.

    >>> make_format_reward()([Problem("a", "q")] * 2, [Sample("a", "so Answer: 3", 3), Sample("a", "I think 3", 3)])
    [1.0, 0.0]
    """

    def answer_format(problems: list[Problem], samples: list[Sample]) -> list[float]:
        return [float(extract_answer(s.text) is not None) for s in samples]

    return answer_format


def _gather(items: list) -> list:
    """All processes' items (in process order) under torch.distributed, else `items`."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        from accelerate.utils import gather_object

        return gather_object(items)
    return items


class MajorityReward:
    """1.0 when a sample's answer equals the majority answer of its problem's samples (in the batch, over
    all processes); `metrics["label_accuracy"]`: how often the pseudo-label is right, where known.

    Answers are extracted by the task's scorer; unparsed answers get 0 and do not vote; ties go to
    the answer seen first (as select rule `majority`).

    >>> from types import SimpleNamespace
    >>> from selftaught.core.records import Score
    >>> task = SimpleNamespace(score=lambda p, t: Score(p.id, t or None, "correct" if t == p.answer else "incorrect",
    ...                                                 float(t == p.answer)))
    >>> reward = MajorityReward(task)
    >>> reward([Problem("a", "q", "5")] * 4, [Sample("a", t, 1) for t in ["5", "7", "5", ""]])
    [1.0, 0.0, 1.0, 0.0]
    >>> reward.metrics
    {'label_accuracy': 1.0}
    """

    __name__ = "majority"

    def __init__(self, task) -> None:
        self.task, self.metrics = task, {}
        self.mode = answer_mode(task)  # the task's answer equivalence, as every other vote uses

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        scores = [self.task.score(p, s.text) for p, s in zip(problems, samples)]
        local = [(p.id, sc.extracted, sc.verdict, p.answer) for p, sc in zip(problems, scores)]
        labels, right = _labels(_gather(local), self.mode)
        self.metrics = {"label_accuracy": sum(right) / len(right)} if right else {}
        return [float(ans is not None and labels.get(pid) is not None and equivalent(ans, labels[pid], self.mode))
                for pid, ans, _, _ in local]


def make_majority_reward(task) -> MajorityReward:
    """The `majority` reward (see `MajorityReward`)."""
    return MajorityReward(task)


def _labels(rows: list[tuple[str, str | None, str, str | None]], mode: str = "auto"):
    """Majority answer per problem id, and per labelled problem whether its label is right."""
    by_pid: dict[str, list[tuple[str | None, str]]] = {}
    has_answer: dict[str, bool] = {}
    for pid, ans, verdict, gold in rows:
        by_pid.setdefault(pid, []).append((ans, verdict))
        has_answer[pid] = gold is not None
    labels, right = {}, []
    for pid, items in by_pid.items():
        label, _ = majority_vote([a for a, _ in items], mode)
        labels[pid] = label
        if label is not None and has_answer[pid]:
            right.append(next(v for a, v in items if a is not None and equivalent(a, label, mode)) == "correct")
    return labels, right


class SelfCertaintyReward:
    """The policy's self-certainty on each sample (higher = more confident); set `.model` first.

    Reads the completion's token ids from `sample.params["completion_ids"]` (put there by `trl_reward`).

    The reward runs one extra forward pass (no gradient) over prompt + completion with the model
    being trained; GRPO normalises rewards within each group, so only the ranking inside a group
    matters.
    """

    __name__ = "self_certainty"

    def __init__(self, tokenizer, batch_size: int = 4):
        self.tokenizer, self.batch_size, self.model = tokenizer, batch_size, None

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        if self.model is None:
            raise RuntimeError("SelfCertaintyReward.model is not set (train_grpo sets it to the trainer's model)")
        rows = [(self._prompt_ids(p.prompt), list(s.params["completion_ids"]))
                for p, s in zip(problems, samples)]
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
    """(TRL reward functions, weights, the SelfCertaintyReward if any) for train.grpo.reward / format_reward."""
    by_id = {p.id: p for p in problems}
    main = as_scorer(REWARDS.get(reward)).make(task=task, tokenizer=tokenizer)
    name = reward if reward in REWARDS else None
    funcs, weights = [trl_reward(main, by_id, name)], [1.0]
    if format_weight > 0:
        funcs.append(trl_reward(make_format_reward(), by_id))
        weights.append(float(format_weight))
    return funcs, weights, main if isinstance(main, SelfCertaintyReward) else None


REWARDS.register("verifier", Scorer(make_task_reward))
REWARDS.register("majority", Scorer(make_majority_reward))
REWARDS.register("self_certainty", Scorer(SelfCertaintyReward))
