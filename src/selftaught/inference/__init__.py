"""Test-time strategies: each a `(ConfigModel, run)` pair registered in `STRATEGIES`.

| name                   | steps                                                     | confidence              |
|------------------------|-----------------------------------------------------------|-------------------------|
| `greedy`               | decode at temperature 0                                   | exp(mean log-prob)      |
| `sample`               | n samples; the first is the answer; pass@k reported       | exp(mean log-prob)      |
| `self_consistency`     | sample -> extract -> vote                                 | vote share              |
| `weighted_vote`        | sample -> score -> weighted vote                          | weight share            |
| `best_of_n`            | sample -> score -> argmax (`oracle` = upper bound)        | score or score share    |
| `self_refine`          | answer -> (critique -> revise) x R with stop rules        | exp(mean log-prob)      |
| `gated_refine`         | vote; refine only when the vote share < threshold         | (agreeing) vote share   |
| `adaptive_consistency` | sample in batches until a Beta/Dirichlet rule says stop   | vote share              |

`run(cfg, ctx, problems) -> list[StrategyResult]`; `runner.evaluate_strategy` scores, writes traces and
metrics; `runner.eval_main` is what `selftaught eval` calls.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import ConfigError
from . import (adaptive_consistency, best_of_n, gated_refine, greedy, sample, self_consistency, self_refine,
               weighted_vote)
from .base import Context, RunFn, SamplePool, StrategyConfig, StrategyResult

STRATEGIES: dict[str, tuple[type[StrategyConfig], RunFn]] = {
    "greedy": (greedy.GreedyConfig, greedy.run),
    "sample": (sample.SampleConfig, sample.run),
    "self_consistency": (self_consistency.SelfConsistencyConfig, self_consistency.run),
    "weighted_vote": (weighted_vote.WeightedVoteConfig, weighted_vote.run),
    "best_of_n": (best_of_n.BestOfNConfig, best_of_n.run),
    "self_refine": (self_refine.SelfRefineConfig, self_refine.run),
    "gated_refine": (gated_refine.GatedRefineConfig, gated_refine.run),
    "adaptive_consistency": (adaptive_consistency.AdaptiveConsistencyConfig, adaptive_consistency.run),
}


def strategy_name(cfg: BaseModel) -> str:
    """The registered name of a config instance's strategy."""
    for name, (cls, _) in STRATEGIES.items():
        if type(cfg) is cls:
            return name
    raise ConfigError(f"{type(cfg).__name__} is not a registered strategy config.")


def check_strategy(name: str) -> None:
    if name not in STRATEGIES:
        close = difflib.get_close_matches(name, list(STRATEGIES), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise ConfigError(f"unknown strategy `{name}`.{hint} Known: {', '.join(STRATEGIES)}.")


def build_strategy(name: str, options: dict[str, Any] | None = None) -> StrategyConfig:
    """The validated config of strategy `name`; every problem is reported at once, with the nearest key."""
    check_strategy(name)
    cls = STRATEGIES[name][0]
    try:
        return cls.model_validate(options or {})
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = ".".join(map(str, err["loc"]))
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, list(cls.model_fields), n=1)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                valid = ", ".join(cls.model_fields)
                problems.append(f"strategy {name}: unknown key `{key}`.{hint} Valid keys: {valid}.")
            else:
                problems.append(f"strategy {name}: `{key}`: {err['msg']} (got {err.get('input')!r}).")
        raise ConfigError("\n".join(problems)) from None


__all__ = ["STRATEGIES", "Context", "SamplePool", "StrategyConfig", "StrategyResult", "build_strategy",
           "check_strategy", "strategy_name"]
