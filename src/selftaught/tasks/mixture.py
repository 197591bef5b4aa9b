"""A weighted mixture of task sources (`task.mixture`): reasoning-gym datasets, JSONL files, callables.

Each source is built by its own task kind (gym.py, jsonl.py, callable_task.py) from the recipe's `task`
section with the source's keys in place of `name` / `path` / `callable` / `options`, and keeps its own
split, prompt and scorer. `problems(split, n, seed, level)` splits `n` over the sources by weight
(largest remainder, ties to the earlier source) and draws each source's share with a seed derived from
(`seed`, the source's label); `source_problems(label, ...)` draws from one source (what a curriculum
asks for). Every problem records its source in `meta["mixture_source"]` and its id is prefixed with the
source's label, so two sources never share an id; `score` hands a problem to its own source's scorer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ..core.errors import ConfigError
from ..core.protocols import Task
from ..core.records import Problem, Score
from .kinds import TASK_KINDS

__all__ = ["MixtureTask", "MixtureSourceTask", "split_by_weight", "source_label"]


@dataclass
class MixtureSourceTask:
    """One source of a mixture: its label (its name in arms and metrics), task, weight and configured levels."""

    label: str
    task: Task
    weight: float
    levels: list[int] | None = None  # the recipe's `levels` for this source (None: all it has)


def split_by_weight(n: int, weights: list[float]) -> list[int]:
    """`n` split in proportion to `weights` (largest remainder; ties to the earlier entry); sums to `n`.

    >>> split_by_weight(10, [1, 1, 1]), split_by_weight(5, [3, 1]), split_by_weight(0, [1, 2])
    ([4, 3, 3], [4, 1], [0, 0])
    """
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _derive_seed(seed: int, label: str) -> int:
    """A source's seed for the mixture's `seed` (independent across sources)."""
    return int(hashlib.sha256(f"{seed}|{label}".encode()).hexdigest()[:8], 16)


def source_label(source: Any, task: Task) -> str:
    """The label of a `task.mixture` entry: its `label`, else the dataset name, the file's stem, the task's name."""
    return source.label or getattr(task, "name", None) or str(source.name or source.path or source.callable)


class MixtureTask:
    """Problems from several sources by weight, each scored by its own source (see the module docstring)."""

    def __init__(self, sources: list[MixtureSourceTask], answer_match: str = "auto"):
        labels = [s.label for s in sources]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ConfigError(f"task.mixture: two sources are named {', '.join(f'`{x}`' for x in twice)}; give "
                              "each a distinct `label`.")
        self.sources = {s.label: s for s in sources}
        self.answer_match = answer_match
        self.name = "mixture(" + "+".join(labels) + ")"
        self.version = ";".join(f"{s.label}={getattr(s.task, 'version', '?')}" for s in sources)

    @property
    def max_new_tokens(self) -> int | None:
        """The largest default generation budget among the sources (None: no source sets one)."""
        budgets = [b for s in self.sources.values() if (b := getattr(s.task, "max_new_tokens", None))]
        return max(budgets) if budgets else None

    def problems(self, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` problems of `split` over the sources by weight; `level` applies to the sources that have levels."""
        sources = list(self.sources.values())
        out: list[Problem] = []
        for source, count in zip(sources, split_by_weight(n, [s.weight for s in sources])):
            if count:
                has_levels = getattr(source.task, "levels", None) is not None
                out += self.source_problems(source.label, split, count, seed, level if has_levels else None)
        return out

    def source_problems(self, label: str, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` problems of `split` from the source `label` at `level`, ids prefixed with the label."""
        source = self.sources[label]
        drawn = source.task.problems(split, n, _derive_seed(seed, label), level=level)
        return [replace(p, id=f"{label}:{p.id}", meta={**p.meta, "mixture_source": label, "level": level})
                for p in drawn]

    def score(self, problem: Problem, completion: str) -> Score:
        """The verdict of the problem's own source."""
        return self.sources[problem.meta["mixture_source"]].task.score(problem, completion)


def _mixture_task(cfg) -> MixtureTask:
    """task.mixture: each entry built by its own task kind from `cfg` with the entry's source keys."""
    sources = []
    for i, entry in enumerate(cfg.mixture):
        kind = next(k for k in ("name", "path", "callable") if getattr(entry, k))
        sub = cfg.model_copy(update={"name": entry.name, "path": entry.path, "callable": entry.callable,
                                     "options": dict(entry.options), "mixture": None,
                                     "level_options": dict(entry.level_options)})
        try:
            task = TASK_KINDS.get(kind)(sub)
        except ConfigError as e:
            raise ConfigError(f"task.mixture.{i}: {e}") from None
        sources.append(MixtureSourceTask(source_label(entry, task), task, entry.weight, entry.levels))
    return MixtureTask(sources, cfg.answer_match)


TASK_KINDS.register("mixture", _mixture_task)
