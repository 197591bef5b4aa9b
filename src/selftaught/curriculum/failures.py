"""Failure memory: every training problem's outcome in each round it was sampled in.

A row per problem (one JSON object a line in `failures.jsonl`):

    id, arm, task          the problem, its arm (`meta["arm"]`, else the task name and level: `Arm.key`)
    history                [{"round": r, "accuracy": share of its samples scored correct, "samples": k}, ...]
    accuracy, slope        the latest accuracy; the least-squares slope of accuracy over the rounds seen (0 for one)
    failing                latest accuracy < fail_below and slope <= 0 (not learning it)
    params                 its generating parameters where the source has them: reasoning-gym's dataset seed,
                           item index, level and the item's own difficulty values (`num_terms: 3`)
    answer, meta           enough to make problems near it (the question, the item's metadata)

The memory after round r is the memory after round r-1 folded with round r's scored samples
(`FailureMemory.update`); the loop writes it into each round's directory and copies the latest to the run
root (loop/synthesis.py), so a resumed run continues from the last round's file.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..core.records import Problem, Sample, Score
from .base import Arm


def arm_of(problem: Problem, task_name: str) -> str:
    """The problem's arm key: `meta["arm"]` when a curriculum set it, else its task (or `task_name`) and level.

    >>> arm_of(Problem("p", "q", "1", {"task": "gcd", "level": 2}), "x"), arm_of(Problem("p", "q"), "mine")
    ('gcd@L2', 'mine')
    """
    meta = problem.meta or {}
    if meta.get("arm"):
        return str(meta["arm"])
    return Arm(str(meta.get("task") or task_name), meta.get("level")).key


def slope(history: list[dict[str, Any]]) -> float:
    """Least-squares slope of accuracy against round (0.0 with fewer than two rounds).

    >>> slope([{"round": 1, "accuracy": 0.0}, {"round": 2, "accuracy": 0.5}, {"round": 3, "accuracy": 1.0}])
    0.5
    """
    if len(history) < 2:
        return 0.0
    xs = [h["round"] for h in history]
    ys = [h["accuracy"] for h in history]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var, 6)


def accuracies(samples: Iterable[Sample], scores: Iterable[Score]) -> dict[str, tuple[int, int]]:
    """problem id -> (samples scored correct, samples)."""
    out: dict[str, list[int]] = {}
    for sample, score in zip(samples, scores):
        cell = out.setdefault(sample.problem_id, [0, 0])
        cell[0] += int(score.correct)
        cell[1] += 1
    return {pid: (c, n) for pid, (c, n) in out.items()}


def generating_params(meta: dict[str, Any]) -> dict[str, Any]:
    """The item's generating parameters: dataset seed, index, level, and the item's own values of its
    dataset's difficulty attributes (reasoning-gym lists them under `metadata["difficulty"]`)."""
    params = {k: meta[k] for k in ("dataset_seed", "index", "level") if meta.get(k) is not None}
    metadata = meta.get("metadata") or {}
    for key in metadata.get("difficulty") or {}:
        if isinstance(metadata.get(key), (int, float, str, bool)):
            params[key] = metadata[key]
    return params


class FailureMemory:
    """The rows above, keyed by problem id; `update` folds in a round."""

    def __init__(self, rows: list[dict[str, Any]] | None = None, fail_below: float = 0.5):
        self.fail_below = fail_below
        self.rows: dict[str, dict[str, Any]] = {r["id"]: r for r in rows or []}

    def update(self, index: int, problems: list[Problem], samples: list[Sample], scores: list[Score],
               task_name: str) -> None:
        """Add round `index`'s outcome of every problem that has samples (a round already there is replaced)."""
        counts = accuracies(samples, scores)
        for problem in problems:
            if problem.id not in counts:
                continue
            correct, n = counts[problem.id]
            row = self.rows.get(problem.id) or {
                "id": problem.id, "arm": arm_of(problem, task_name), "task": problem.meta.get("task", task_name),
                "history": [], "params": generating_params(problem.meta), "answer": problem.answer,
                "meta": problem.meta}
            history = [h for h in row["history"] if h["round"] != index]
            history.append({"round": index, "accuracy": round(correct / n, 6), "samples": n})
            row["history"] = sorted(history, key=lambda h: h["round"])
            row["accuracy"], row["slope"] = row["history"][-1]["accuracy"], slope(row["history"])
            row["failing"] = row["accuracy"] < self.fail_below and row["slope"] <= 0
            self.rows[problem.id] = dict(row)  # key order: as first written

    def failing(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The failing rows among `ids`, worst first (lowest accuracy, then lowest slope, then id)."""
        rows = [self.rows[i] for i in ids if i in self.rows and self.rows[i]["failing"]]
        return sorted(rows, key=lambda r: (r["accuracy"], r["slope"], r["id"]))

    def failure_rates(self, ids: Iterable[str]) -> dict[str, float]:
        """Per arm: the share of its problems among `ids` that are failing."""
        seen: dict[str, list[int]] = {}
        for i in ids:
            if i in self.rows:
                cell = seen.setdefault(self.rows[i]["arm"], [0, 0])
                cell[0] += int(self.rows[i]["failing"])
                cell[1] += 1
        return {arm: failed / n for arm, (failed, n) in sorted(seen.items())}

    def to_rows(self) -> list[dict[str, Any]]:
        return [self.rows[k] for k in sorted(self.rows)]


def allocate(budget: int, rates: dict[str, float]) -> dict[str, int]:
    """Split `budget` among arms in proportion to their failure rates (largest remainder; ties by arm name).

    >>> allocate(10, {"a": 0.5, "b": 0.25, "c": 0.0})
    {'a': 7, 'b': 3, 'c': 0}
    >>> allocate(5, {"a": 0.0})
    {'a': 0}
    """
    total = sum(rates.values())
    if total <= 0 or budget <= 0:
        return {arm: 0 for arm in rates}
    exact = {arm: budget * r / total for arm, r in rates.items()}
    out = {arm: int(x) for arm, x in exact.items()}
    left = budget - sum(out.values())
    for arm in sorted(rates, key=lambda a: (-(exact[a] - out[a]), a))[:left]:
        out[arm] += 1
    return out
