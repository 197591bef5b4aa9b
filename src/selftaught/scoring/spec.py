"""What a scorer is, and the registry of scorers (`SCORERS`).

Every scorer is a reward function of one signature, the project's own (not TRL's):

    fn(problems: list[Problem], samples: list[Sample]) -> list[float]      # one float per sample

`problems[i]` is the problem `samples[i]` answers. Strategies (best-of-N, weighted votes), the
`threshold` selection rule and GRPO (through `train.rewards.trl_reward`, an adapter to TRL's
`reward_func(prompts, completions, **columns)`) all call this one shape.

A registered scorer is a `Scorer`: `build(**context)` returns the reward function (`context` holds
`task`, `generator`, `equivalence`, `borda_p`; `build` receives the ones it names), and `bounded`
says whether its values already lie in [0, 1] (then best-of-N reports the chosen value as its
confidence). A user's own scorer is named `module:object`, where the object is a `Scorer` or a plain
reward function of the signature above (unbounded unless it has an attribute `bounded = True`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from ..core.protocols import RewardFn
from ..core.registry import Registry


@dataclass(frozen=True)
class Scorer:
    """A scorer's factory and what its values mean.

    `confidence`: how best-of-N turns the chosen sample's value into a confidence: `value` (bounded
    scores, the value itself), `share` (the chosen answer's share of all samples' values), `total`
    (each sample carries its answer group's total weight: the value over the sum of all weights).
    """

    build: Callable[..., RewardFn]
    bounded: bool = False
    confidence: str = ""

    def __post_init__(self) -> None:
        if not self.confidence:
            object.__setattr__(self, "confidence", "value" if self.bounded else "share")

    def make(self, **context: Any) -> RewardFn:
        """The reward function, built with the entries of `context` that `build` accepts."""
        params = inspect.signature(self.build).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return self.build(**context)
        return self.build(**{k: v for k, v in context.items() if k in params})


SCORERS: Registry[Scorer] = Registry("scorer", package="selftaught.scoring")


def as_scorer(obj: Any) -> Scorer:
    """A `Scorer` for what a scorer name resolves to (a `Scorer`, or a plain reward function).

    >>> def length(problems, samples):
    ...     return [float(len(s.text)) for s in samples]
    >>> as_scorer(length).make(task=None)([], []), as_scorer(length).bounded
    ([], False)
    """
    if isinstance(obj, Scorer):
        return obj
    if callable(obj):
        return Scorer(lambda: obj, bounded=bool(getattr(obj, "bounded", False)))
    raise TypeError(f"a scorer is a Scorer or a reward function fn(problems, samples) -> list[float], got {obj!r}")


def scorer_spec(name: str) -> Scorer:
    """The `Scorer` a registered name or `module:object` names (ConfigError with did-you-mean if unknown)."""
    return as_scorer(SCORERS.get(name))
