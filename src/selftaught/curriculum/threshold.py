"""`threshold`: each source's level moves with its recent training accuracy (reasoning-gym's rule).

Every round a source trains at its current level. After the round, the accuracy (mean reward) of its samples over the
last `window` rounds at that level decides: above `success` it moves one level up, below `failure` one
level down (within the levels it offers); the history restarts when the level changes. The round's
problems are split over the sources by their mixture weights. reasoning-gym ships this rule only inside
`CurriculumExperiment`, whose update pushes only the upper bound of each range, so it is written here
over the source's own level list.
"""

from __future__ import annotations

from typing import Any

from ..core.records import Problem, Sample, Score
from ..metrics.arms import rewards_by_arm
from .base import CURRICULA, Arm, Curriculum
from .fixed import split_over


class ThresholdCurriculum(Curriculum):
    mode = "threshold"

    def __init__(self, options: Any, arms: list[Arm], seed: int):
        super().__init__(options, arms, seed)
        self.levels: dict[str, list[int]] = {}
        for arm in arms:
            self.levels.setdefault(arm.source, []).append(arm.level)
        start = options.level
        self.current = {s: start if start in levels else levels[0] for s, levels in self.levels.items()}
        self.history: dict[str, list[list[float]]] = {s: [] for s in self.levels}  # [reward sum, samples] a round

    def _arms_now(self) -> list[Arm]:
        return [Arm(s, level) for s, level in self.current.items()]

    def plan(self, index: int, n: int) -> dict[Arm, int]:
        return split_over(self._arms_now(), n, self.weights)

    def update(self, index: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
        rewards = rewards_by_arm(problems, samples, scores)
        metrics: dict[str, Any] = {}
        for arm in self._arms_now():
            metrics[f"level/{arm.source}"] = arm.level  # the level this round trained at
            values = [r for rs in rewards.get(arm.key, {}).values() for r in rs]  # 0/1 rewards: accuracy
            if values:
                self.history[arm.source].append([sum(values), len(values)])
            recent = self.history[arm.source][-self.options.window:]
            if len(recent) >= self.options.window:
                accuracy = sum(c for c, _ in recent) / max(1, sum(t for _, t in recent))
                metrics[f"accuracy/{arm.source}"] = accuracy
                self._move(arm, accuracy)
        return metrics

    def _move(self, arm: Arm, accuracy: float) -> None:
        levels = self.levels[arm.source]
        at = levels.index(arm.level)
        if accuracy > self.options.success and at + 1 < len(levels):
            self.current[arm.source], self.history[arm.source] = levels[at + 1], []
        elif accuracy < self.options.failure and at > 0:
            self.current[arm.source], self.history[arm.source] = levels[at - 1], []

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "current": dict(self.current), "history": {s: list(h) for s, h in self.history.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = {s: int(level) for s, level in state["current"].items()}
        self.history = {s: [list(x) for x in h] for s, h in state["history"].items()}


CURRICULA.register("threshold", ThresholdCurriculum)
