"""The arms a run's task offers, the curriculum built over them, and problems drawn from one arm.

A source is one task (or one entry of `task.mixture`), labelled by its name; its levels are what the
recipe asks for (the entry's `levels`, else `curriculum.levels`) or, when it asks for none, every level
the task has (reasoning-gym's curriculum levels, a JSONL file's level values, a user task's `levels`
attribute). Every level asked for, `curriculum.level` and `curriculum.eval_levels` are checked against
the levels the source has, and a mode that moves between levels refuses a source without any: a
ConfigError naming the key, raised when the loop is built (before a model loads).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..core.errors import ConfigError
from ..core.records import Problem
from .base import CURRICULA, Arm, Curriculum

__all__ = ["Source", "task_sources", "build_curriculum", "eval_arms", "draw"]

MOVES_LEVELS = ("threshold", "self_label")  # modes that need every source to have levels


@dataclass(frozen=True)
class Source:
    label: str
    weight: float
    levels: list[int] | None  # the levels the curriculum may use (None: the source has none)
    has: list[int] | None  # every level the source has


def _source(label: str, weight: float, task: Any, asked: list[int] | None, key: str) -> Source:
    has = getattr(task, "levels", None)
    has = None if has is None else list(has)
    if asked is not None:
        if has is None:
            raise ConfigError(f"{key}: source `{label}` has no levels (a reasoning-gym dataset without a curriculum, "
                              "a JSONL file without a level field, a user task without a `levels` attribute); "
                              "remove the levels or pick a source that has them.")
        _check_levels(asked, has, label, key)
    return Source(label, weight, has if asked is None else sorted(set(asked)), has)


def _check_levels(asked: list[int], has: list[int], label: str, key: str) -> None:
    missing = [level for level in asked if level not in has]
    if missing:
        raise ConfigError(f"{key}: source `{label}` has no level {', '.join(map(str, missing))}; its levels: {has}.")


def task_sources(cfg: Any, task: Any) -> list[Source]:
    """The run's sources with their levels, every level the recipe names checked (see the module docstring)."""
    cur = cfg.curriculum
    if cfg.task.mixture:
        sources = [_source(label, s.weight, s.task, entry.levels if entry.levels is not None else cur.levels,
                           f"task.mixture.{i}.levels" if entry.levels is not None else "curriculum.levels")
                   for i, (entry, (label, s)) in enumerate(zip(cfg.task.mixture, task.sources.items()))]
    else:
        sources = [_source(task.name, 1.0, task, cur.levels, "curriculum.levels")]
    levelled = [s for s in sources if s.levels is not None]
    for key, asked in (("curriculum.level", [] if cur.level is None else [cur.level]),
                       ("curriculum.eval_levels", cur.eval_levels)):
        if asked and not levelled:
            raise ConfigError(f"{key}: no source of this task has levels ({', '.join(s.label for s in sources)}).")
        for s in levelled:
            _check_levels(asked, s.has, s.label, key)
    if cur.mode in MOVES_LEVELS:
        for s in sources:
            if s.levels is None:
                raise ConfigError(f"curriculum.mode {cur.mode}: source `{s.label}` has no levels to move between; "
                                  "use a source with levels (reasoning-gym datasets with a curriculum, JSONL with a "
                                  "level field) or curriculum.mode fixed.")
    return sources


def _arms(cfg: Any, sources: list[Source]) -> list[Arm]:
    """fixed: one arm per source at curriculum.level; other modes: every (source, level) the sources offer."""
    if cfg.curriculum.mode == "fixed":
        return [Arm(s.label, cfg.curriculum.level if s.levels is not None else None) for s in sources]
    return [Arm(s.label, level) for s in sources for level in (s.levels if s.levels is not None else [None])]


def build_curriculum(cfg: Any, task: Any) -> Curriculum:
    """The `curriculum.mode` curriculum over the task's arms (source weights in `curriculum.weights`)."""
    sources = task_sources(cfg, task)
    arms = _arms(cfg, sources)
    if cfg.curriculum.mode == "bandit" and len(arms) < 2:
        raise ConfigError(f"curriculum.mode bandit: the task offers one arm ({arms[0].key}), so there is nothing to "
                          "choose; give its source levels (curriculum.levels) or use a task.mixture.")
    curriculum = CURRICULA.get(cfg.curriculum.mode)(cfg.curriculum, arms, cfg.seed)
    curriculum.weights = {s.label: s.weight for s in sources}
    return curriculum


def eval_arms(cfg: Any, task: Any, curriculum: Curriculum) -> list[Arm]:
    """The held-out arms: each levelled source at every curriculum.eval_levels level (unlevelled sources as they
    are), or the curriculum's own `eval_arms()` when none are given."""
    levels = cfg.curriculum.eval_levels
    if not levels:
        return curriculum.eval_arms()
    return [Arm(s.label, level) for s in task_sources(cfg, task)
            for level in (levels if s.levels is not None else [None])]


def draw(task: Any, arm: Arm, split: str, n: int, seed: int) -> list[Problem]:
    """`n` problems of `split` from `arm` (a mixture's source, or the whole task, at the arm's level), each with
    `meta["arm"]` = the arm's key (a task without levels or sources that names its problems' arms itself
    keeps its own names)."""
    if hasattr(task, "source_problems"):
        problems = task.source_problems(arm.source, split, n, seed, arm.level)
    elif arm.level is None:
        return [p if "arm" in p.meta else replace(p, meta={**p.meta, "arm": arm.key})
                for p in task.problems(split, n, seed)]
    else:
        problems = task.problems(split, n, seed, level=arm.level)
    return [replace(p, meta={**p.meta, "arm": arm.key}) for p in problems]
