"""Step scorers (process reward models' view of a solution) by name, their aggregation, and a label-free one.

A step scorer implements `core.protocols.StepScorer`: `step_scores(problems, steps) -> list[list[float]]`,
one score in [0, 1] per step. Search strategies (`prm_best_of_n`, `prm_vote`, `beam_search`, `dvts`)
name one in their `prm` option:

| name           | what it is                                                                   |
|----------------|------------------------------------------------------------------------------|
| `step_logprob` | the policy model's own geometric-mean token probability of each step, given  |
|                | the prompt and the steps before it (label-free, untrained: a baseline)       |
| `module:obj`   | a StepScorer instance, or a factory `obj(task=..., generator=...)` returning one |

A learned process reward model registers itself here under its own name (a factory in `STEP_SCORERS`).
`aggregate(scores, how)` turns one solution's step scores into one value: `min` (the weakest step),
`prod` (all steps right) or `last` (the final step's score), as in huggingface/search-and-learn.
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any, Callable, Literal, Sequence

import torch

from ..core.errors import ConfigError
from ..core.protocols import StepScorer
from ..core.records import Problem
from ..core.registry import Registry
from ..tasks.steps import DEFAULT_SEPARATOR, join_steps

Aggregate = Literal["min", "prod", "last"]
STEP_SCORERS: Registry[Callable[..., StepScorer]] = Registry("step scorer", package="selftaught.scoring")


def aggregate(scores: Sequence[float], how: Aggregate = "last") -> float:
    """One value for a solution from its step scores (0.0 for a solution of no steps).

    >>> aggregate([0.9, 0.5, 0.8], "min"), round(aggregate([0.9, 0.5, 0.8], "prod"), 2), aggregate([0.9, 0.5], "last")
    (0.5, 0.36, 0.5)
    """
    if not scores:
        return 0.0
    if how == "min":
        return float(min(scores))
    if how == "prod":
        return float(math.prod(scores))
    if how == "last":
        return float(scores[-1])
    raise ValueError(f"aggregate must be min, prod or last, got {how!r}")


def check_step_scorer(name: str | None) -> str | None:
    """None when `name` is a registered step scorer or an importable `module:object`; else the message."""
    if not name:
        return ("no step scorer given: set `prm` to a registered step scorer (" + ", ".join(STEP_SCORERS.names())
                + ") or a `module:object` StepScorer.")
    return STEP_SCORERS.check(name)


def make_step_scorer(name: str, task: Any = None, generator: Any = None,
                     options: dict[str, Any] | None = None) -> StepScorer:
    """The step scorer `name` names, built for this task and generator (see the module docstring); a factory
    also receives the `options` it names as parameters (e.g. `prm_path` for the learned PRM)."""
    obj = STEP_SCORERS.get(name)
    if not hasattr(obj, "step_scores"):
        if not callable(obj):
            raise ConfigError(f"step scorer `{name}`: {obj!r} has no step_scores method and is not a factory.")
        params = inspect.signature(obj).parameters
        context = {**(options or {}), "task": task, "generator": generator}
        obj = obj(**{k: v for k, v in context.items() if k in params})
    if not hasattr(obj, "step_scores"):
        raise ConfigError(f"step scorer `{name}` built {type(obj).__name__}, which has no step_scores(problems, steps).")
    return obj


class ModelStepScorer:
    """Each step's geometric-mean token probability under a causal LM, given the prompt and earlier steps.

    The prompt is encoded as the generator encodes it (its chat template or plain format) and run once
    per problem: its KV cache is kept for the last `keep_prompts` prompts and repeated over that
    problem's solutions, which then run together, `batch_size` at a time. Scores are memoised per
    (prompt, steps), so strategies sharing one scorer score a solution once; build one per evaluation
    (a model trained in place would leave both caches stale). A token belongs to the step its
    characters overlap first; separator-only tokens belong to none. `tokens_read` counts every token
    the model read.
    """

    def __init__(self, model: Any, tokenizer: Any, encode: Callable[[list], list[list[int]]],
                 separator: str = DEFAULT_SEPARATOR, batch_size: int = 8, keep_prompts: int = 64) -> None:
        self.model, self.tokenizer, self.encode = model, tokenizer, encode
        self.separator, self.batch_size, self.keep_prompts = separator, batch_size, keep_prompts
        self.tokens_read = 0
        self._prompts: dict[str, tuple[Any, torch.Tensor, int]] = {}  # prompt -> (KV cache, last logits, length)
        self._memo: dict[tuple[str, tuple[str, ...]], list[float]] = {}  # (prompt, steps) -> scores

    def step_scores(self, problems: list[Problem], steps: list[list[str]]) -> list[list[float]]:
        keys = [(str(p.prompt), tuple(s)) for p, s in zip(problems, steps)]
        by_prompt: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key not in self._memo and all(keys[j] != key for j in by_prompt.get(key[0], [])):
                by_prompt.setdefault(key[0], []).append(i)
        for rows in by_prompt.values():
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start:start + self.batch_size]
                for i, s in zip(chunk, self._score(problems[chunk[0]], [steps[i] for i in chunk])):
                    self._memo[keys[i]] = s
        return [list(self._memo[key]) for key in keys]

    def _pieces(self, steps: list[str]) -> tuple[list[int], list[int]]:
        """Token ids of the joined solution and, per token, the index of its step (-1: separator only)."""
        text = join_steps(steps, self.separator)
        spans, at = [], 0
        for s in steps:
            at = text.index(s, at)
            spans.append((at, at + len(s)))
            at += len(s)
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        owner = [next((k for k, (a, b) in enumerate(spans) if lo < b and hi > a), -1)
                 for lo, hi in enc["offset_mapping"]]
        return list(enc["input_ids"]), owner

    @torch.inference_mode()
    def _score(self, problem: Problem, solutions: list[list[str]]) -> list[list[float]]:
        device = next(self.model.parameters()).device
        cache, last, length = self._prompt(problem, device)
        pieces = [self._pieces(s) if s else ([], []) for s in solutions]
        width = max(1, max(len(ids) for ids, _ in pieces))
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(pieces), width), pad, dtype=torch.long)
        mask = torch.zeros((len(pieces), length + width), dtype=torch.long)
        mask[:, :length] = 1
        for r, (row, _) in enumerate(pieces):
            ids[r, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, length:length + len(row)] = 1
        cache.batch_repeat_interleave(len(pieces))
        # transformers renamed the forward argument `past_key_values` to `cache` during 5.x
        key = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device), **{key: cache}).logits
        self.tokens_read += sum(len(row) for row, _ in pieces)
        # the prompt's last logits predict each solution's first token; position t's predict token t + 1
        logits = torch.cat([last.expand(len(pieces), -1, -1), logits[:, :-1]], dim=1)
        logp = torch.log_softmax(logits.float(), dim=-1).gather(2, ids.to(device)[..., None])[..., 0].cpu()
        results = []
        for r, (row, owner) in enumerate(pieces):
            sums, counts = [0.0] * len(solutions[r]), [0] * len(solutions[r])
            for t, k in enumerate(owner):
                if k >= 0:
                    sums[k] += float(logp[r, t])
                    counts[k] += 1
            results.append([math.exp(s / c) if c else 0.0 for s, c in zip(sums, counts)])
        return results

    def _prompt(self, problem: Problem, device: torch.device) -> tuple[Any, torch.Tensor, int]:
        """A fresh copy of the prompt's KV cache (a forward pass appends to it), its last logits, its length."""
        key = str(problem.prompt)
        if key not in self._prompts:
            prompt = torch.tensor([self.encode([problem.prompt])[0]], device=device)
            out = self.model(input_ids=prompt, use_cache=True)
            self.tokens_read += prompt.shape[1]
            cache = out["cache"] if "cache" in out else out.past_key_values  # renamed during transformers 5.x
            if len(self._prompts) >= self.keep_prompts:
                del self._prompts[next(iter(self._prompts))]
            self._prompts[key] = (cache, out.logits[:, -1:], prompt.shape[1])
        cache, last, length = self._prompts[key]
        return copy.deepcopy(cache), last, length


def make_step_logprob(task: Any = None, generator: Any = None) -> ModelStepScorer:
    """The `step_logprob` step scorer over `generator`'s model (backends `hf` and `fast`)."""
    from ..tasks.steps import step_separator

    model, tokenizer = getattr(generator, "model", None), getattr(generator, "tokenizer", None)
    encode = getattr(generator, "encode", None) or getattr(getattr(generator, "_hf", None), "encode", None)
    if not isinstance(model, torch.nn.Module) or tokenizer is None or encode is None:
        raise ConfigError("step scorer `step_logprob` reads the policy model's own log-probs: it needs backend "
                          f"hf or fast (this generator is {type(generator).__name__}); or set `prm` to a "
                          "trained process reward model.")
    return ModelStepScorer(model, tokenizer, encode, step_separator(task))


STEP_SCORERS.register("step_logprob", make_step_logprob)
