"""The curriculum interface: arms (a problem source at a level), a mode that plans each round's
training problems over the arms and learns from the round's scored samples, and its saved state.

A round asks `plan(index, n)` for how many of its `n` training problems each arm gives, draws them,
samples and scores, then calls `update(index, problems, samples, scores)` (the problems carry their arm
in `problem.meta["arm"]`). `state_dict()` is written each round (rounds/NNN/curriculum.json) and
`load_state_dict()` restores it on resume, the random generator included, so a killed run makes the
same choices again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from ..core.records import Problem, Sample, Score
from ..core.registry import Registry


@dataclass(frozen=True, order=True)
class Arm:
    """One source of problems at one level (level None: the source has no levels)."""

    source: str
    level: int | None = None

    @property
    def key(self) -> str:
        """The arm's name in metadata and metrics: `source` or `source@L3`."""
        return self.source if self.level is None else f"{self.source}@L{self.level}"

    @classmethod
    def parse(cls, key: str) -> "Arm":
        """The arm a `key` names (inverse of `key`)."""
        source, sep, level = key.rpartition("@L")
        if sep and level.lstrip("-").isdigit():
            return cls(source, int(level))
        return cls(key, None)


class Curriculum(ABC):
    """Base of every mode: plans each round's arms, learns from its scored samples, saves its state."""

    mode: ClassVar[str] = ""

    def __init__(self, options: Any, arms: list[Arm], seed: int):
        self.options, self.arms, self.seed = options, list(arms), seed
        self.weights: dict[str, float] = {}  # source -> mixture weight (curriculum/sources.py sets it)

    @abstractmethod
    def plan(self, index: int, n: int) -> dict[Arm, int]:
        """How many of round `index`'s `n` training problems each arm gives (sums to n)."""
        ...

    @abstractmethod
    def update(self, index: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
        """Learn from round `index`'s scored training samples; returns `curriculum/...` metrics."""
        ...

    def eval_arms(self) -> list[Arm]:
        """The arms the held-out evaluation covers every round."""
        return list(self.arms)

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (JSON-serialisable, the rng state included)."""
        ...

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from what `state_dict` returned."""
        ...


CURRICULA: Registry[type[Curriculum]] = Registry("curriculum mode", package="selftaught.curriculum")
