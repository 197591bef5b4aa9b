"""Problems made near failing ones (SwS: weakness-driven problem synthesis), for sources with a generator.

`near_generator(task, meta)` finds how to make fresh problems like a failing one:
- a task (or one of a mixture's `sources`) with a method `near(problem, n, seed) -> list[Problem]` uses it
  (a user's own task may define one);
- a reasoning-gym task uses `gym_near`: fresh items of the same dataset at the failing item's parameters.
  Its curriculum attributes (`num_terms`, `num_digits`, ...) are pinned to the item's own values
  (`min_terms = max_terms = 3`) where the item's metadata records them; the other options stay those the
  item was drawn with (its level). No model is needed and the answers are the generator's, so they are right.
Sources with neither (JSONL files) go to the teacher (curriculum/teacher.py) when one is configured.

`plan_candidates` turns the failure memory into per-row candidate counts: a budget per arm in proportion to
the arm's failure rate (`failures.allocate`), times `candidates` (oversampling for the band filter), spread
round-robin over the arm's failing problems, worst first. `in_band` is the filter: kept when the current
model solves a candidate sometimes but not always.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Any, Callable

from ..core.records import Problem
from .failures import FailureMemory, allocate

NearFn = Callable[[Problem, int, int], list[Problem]]


def task_sources(task: Any) -> list[Any]:
    """The task and, for a mixture, its sources (`task.sources`: a list or dict of tasks, or of objects with
    a `.task`), depth first."""
    out, sources = [task], getattr(task, "sources", None)
    if isinstance(sources, dict):
        sources = list(sources.values())
    for source in sources or []:
        out.extend(task_sources(getattr(source, "task", source)))
    return out


def near_generator(task: Any, meta: dict[str, Any]) -> NearFn | None:
    """How to make problems like the one whose meta is `meta` (None: its source has no generator)."""
    from ..tasks.gym import ReasoningGymTask

    name = meta.get("task")
    candidates = task_sources(task)
    source = next((s for s in candidates if getattr(s, "name", None) == name), candidates[0])
    if callable(getattr(source, "near", None)):
        return source.near
    if isinstance(source, ReasoningGymTask):
        return partial(gym_near, source)
    return None


def pinned_options(name: str, base: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    """`base` with each curriculum range attribute pinned to the item's own value where metadata has it.

    >>> pinned_options("basic_arithmetic", {"max_digits": 2}, {"num_terms": 3, "num_digits": 2})
    {'max_digits': 2, 'min_terms': 3, 'max_terms': 3, 'min_digits': 2}
    """
    from reasoning_gym import factory

    if not factory.has_curriculum(name):
        return dict(base)
    fields = {f.name for f in dataclasses.fields(factory.DATASETS[name][1])}
    out = dict(base)
    for attr in factory.create_curriculum(name).attributes.values():
        value = metadata.get(attr.name)
        lower, upper = getattr(attr, "lower_field_name", None), getattr(attr, "upper_field_name", None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and {lower, upper} <= fields:
            out[lower] = out[upper] = value
    return out


def gym_near(task: Any, problem: Problem, n: int, seed: int) -> list[Problem]:
    """`n` fresh training items of `task`'s dataset at `problem`'s parameters (fewer if its space is small).

    Only questions in the training bucket (`tasks.gym.split_of`) are kept, so no held-out question is ever
    made; the item's own question is skipped. Pinned options the dataset rejects fall back to the item's
    level's options. Scoring goes through the task as usual (`meta` holds the entry's JSON copy).
    """
    import reasoning_gym

    from ..tasks.gym import _json_safe, split_of
    from ..tasks.prompts import build_messages

    meta = problem.meta
    base = task._config_kwargs(meta.get("level"))  # the options the item was drawn with (its level)
    size = max(64, 8 * n)
    for options in (pinned_options(task.name, base, meta.get("metadata") or {}), base):
        try:
            dataset = reasoning_gym.create_dataset(task.name, seed=seed, size=size, **options)
            entries = [(i, dataset[i]) for i in range(size)]
            break
        except Exception:  # reasoning-gym validates with assert / ValueError: try the item's level instead
            continue
    else:
        return []
    seen, out = {str(meta.get("question"))}, []
    shots = task.examples(meta.get("level"))
    for i, entry in entries:
        question = str(entry["question"])
        if question in seen or split_of(question) != "train" or entry.get("answer") is None:
            continue
        seen.add(question)
        new_meta = {**meta, "dataset_seed": seed, "index": i, "question": question, "metadata": _json_safe(entry.get("metadata") or {}),
                    "synth": {"from": problem.id, "seed": seed, "options": _json_safe(options)}}
        out.append(Problem(f"{problem.id}~{seed:08x}-{i}", build_messages(question, shots, task.system_prompt),
                           str(entry["answer"]), new_meta))
        if len(out) >= n:
            break
    return out


def plan_candidates(memory: FailureMemory, ids: list[str], n_problems: int,
                    oversample: float) -> tuple[dict[str, int], list[tuple[dict[str, Any], int]]]:
    """(budget per arm, [(failing row, candidates to make near it)]): see the module docstring."""
    rates = memory.failure_rates(ids)
    budgets = allocate(n_problems, rates)
    failing = memory.failing(ids)
    plan: list[tuple[dict[str, Any], int]] = []
    for arm, budget in budgets.items():
        rows = [r for r in failing if r["arm"] == arm]
        total = math.ceil(budget * oversample)
        if not rows or not total:
            continue
        for j, row in enumerate(rows):
            count = total // len(rows) + int(j < total % len(rows))
            if count:
                plan.append((row, count))
    return budgets, plan


def in_band(correct: int, n: int, band: list[float] | tuple[float, float]) -> bool:
    """Whether a share of `correct` out of `n` lies in [low, high].

    >>> [in_band(c, 8, (0.125, 0.875)) for c in (0, 1, 7, 8)]
    [False, True, True, False]
    """
    return n > 0 and band[0] <= correct / n <= band[1]
