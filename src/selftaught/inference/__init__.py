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
| `prm_best_of_n`        | sample -> split steps -> step scores -> aggregate -> argmax | aggregate step score  |
| `prm_vote`             | sample -> split steps -> step scores -> weighted vote     | weight share            |
| `beam_search`          | N beams step by step; keep N/M by step score, grow each M | best aggregate / share  |
| `dvts`                 | N/M independent subtrees, each greedy over M children     | best aggregate / share  |

`run(cfg, ctx, problems) -> list[StrategyResult]`; each module registers its pair in `STRATEGIES` at its
bottom (a new strategy is one new module here); a user's own pair is named `module:object`.
`runner.evaluate_strategy` scores, writes traces and metrics; `runner.eval_main` is what `selftaught eval` calls.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import ConfigError
from ..core.registry import did_you_mean
from .base import STRATEGIES, Context, RunFn, SamplePool, StrategyConfig, StrategyResult


_NAMED: dict[str, tuple[type[StrategyConfig], RunFn]] = {}  # `module:object` strategies looked up so far


def strategy_name(cfg: BaseModel) -> str:
    """The registered name (or `module:object`) of a config instance's strategy."""
    for name in STRATEGIES.names():
        if type(cfg) is STRATEGIES.get(name)[0]:
            return name
    for name, (cls, _) in _NAMED.items():  # the pairs as first looked up: no re-import
        if type(cfg) is cls:
            return name
    raise ConfigError(f"{type(cfg).__name__} is not a registered strategy config.")


def check_strategy(name: str) -> None:
    """A ConfigError naming the nearest strategy when `name` is neither registered nor an importable
    `module:object` pair (remembered, so `strategy_name` finds its config class)."""
    entry = STRATEGIES.get(name)
    if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], type)
            and issubclass(entry[0], BaseModel) and callable(entry[1])):
        raise ConfigError(f"strategy `{name}`: expected a pair (ConfigModel, run), got {entry!r}.")
    if name not in STRATEGIES:
        _NAMED[name] = entry


def strategy_run(name: str) -> RunFn:
    """The `run` function of strategy `name`."""
    check_strategy(name)
    return STRATEGIES.get(name)[1]


def build_strategy(name: str, options: dict[str, Any] | None = None) -> StrategyConfig:
    """The validated config of strategy `name`; every problem is reported at once, with the nearest key."""
    check_strategy(name)
    cls = STRATEGIES.get(name)[0]
    try:
        return cls.model_validate(options or {})
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = ".".join(map(str, err["loc"])) or "options"
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(key, cls.model_fields)
                valid = ", ".join(cls.model_fields)
                problems.append(f"strategy {name}: unknown key `{key}`{hint}. Valid keys: {valid}.")
            else:
                problems.append(f"strategy {name}: `{key}`: {err['msg']} (got {err.get('input')!r}).")
        raise ConfigError("\n".join(problems)) from None


__all__ = ["STRATEGIES", "Context", "SamplePool", "StrategyConfig", "StrategyResult", "build_strategy",
           "check_strategy", "strategy_name", "strategy_run"]
