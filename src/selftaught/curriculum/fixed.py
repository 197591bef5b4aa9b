"""`fixed`: the same arms every round (one per source, at curriculum.level when set), the round's training
problems split over the sources by their mixture weights; nothing is learned. With no level and one
task this is the loop without a curriculum: the same problems, drawn with the same seeds."""

from __future__ import annotations

from typing import Any

from ..core.records import Problem, Sample, Score
from ..tasks.mixture import split_by_weight
from .base import CURRICULA, Arm, Curriculum


def split_over(arms: list[Arm], n: int, weights: dict[str, float]) -> dict[Arm, int]:
    """`n` problems over `arms` in proportion to their sources' weights (1 when absent).

    >>> split_over([Arm("a", 0), Arm("b")], 5, {"a": 3.0, "b": 1.0})
    {Arm(source='a', level=0): 4, Arm(source='b', level=None): 1}
    """
    counts = split_by_weight(n, [weights.get(a.source, 1.0) for a in arms])
    return dict(zip(arms, counts))


class FixedCurriculum(Curriculum):
    mode = "fixed"

    def plan(self, index: int, n: int) -> dict[Arm, int]:
        return split_over(self.arms, n, self.weights)

    def update(self, index: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "arms": [a.key for a in self.arms]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: the arms come from the config."""


CURRICULA.register("fixed", FixedCurriculum)
