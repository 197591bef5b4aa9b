"""`bandit`: SEC (Self-Evolving Curriculum), a bandit over arms = (source, level).

Each round every training problem's arm is drawn from the Boltzmann distribution over the arms' values,
p(arm) ~ exp(Q(arm) / temperature), with a generator seeded from (run seed, round), so a resumed round
draws the same arms. After the round, an arm's reward is its learning signal: the mean absolute advantage
of its problems' samples, mean over problems of mean_i |r_i - mean(r)| (for 0/1 rewards, 2p(1-p)):
largest where the model solves a problem about half the time, zero where it always or never does. Arms
drawn this round are updated by TD, Q <- (1 - alpha) Q + alpha r; the others keep their value. The
mixture weights are not used: the values decide.
"""

from __future__ import annotations

import math
import random
from typing import Any

from ..core.records import Problem, Sample, Score
from ..core.seeds import seed_for
from ..metrics.arms import rewards_by_arm
from .base import CURRICULA, Arm, Curriculum


def mean_abs_advantage(groups: list[list[float]]) -> float:
    """Mean over problems of the mean |r - mean r| of its samples' rewards.

    >>> mean_abs_advantage([[1, 0], [1, 1]]), mean_abs_advantage([[1, 0, 0, 0]])
    (0.25, 0.375)
    """
    values = [sum(abs(r - sum(g) / len(g)) for r in g) / len(g) for g in groups if g]
    return sum(values) / len(values) if values else 0.0


def boltzmann(values: list[float], temperature: float) -> list[float]:
    """softmax(values / temperature), computed stably."""
    top = max(values)
    weights = [math.exp((v - top) / temperature) for v in values]
    return [w / sum(weights) for w in weights]


class BanditCurriculum(Curriculum):
    mode = "bandit"

    def __init__(self, options: Any, arms: list[Arm], seed: int):
        super().__init__(options, arms, seed)
        self.q = {a.key: 0.0 for a in arms}
        self.counts = {a.key: 0 for a in arms}  # problems drawn from each arm so far

    def probabilities(self) -> list[float]:
        return boltzmann([self.q[a.key] for a in self.arms], self.options.temperature)

    def plan(self, index: int, n: int) -> dict[Arm, int]:
        rng = random.Random(seed_for(self.seed, "curriculum", index, 0))
        drawn = rng.choices(range(len(self.arms)), weights=self.probabilities(), k=n)
        return {a: drawn.count(i) for i, a in enumerate(self.arms) if drawn.count(i)}

    def update(self, index: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        alpha = self.options.alpha
        for key, groups in rewards_by_arm(problems, samples, scores).items():
            if key not in self.q:
                continue
            reward = mean_abs_advantage(list(groups.values()))
            self.q[key] = (1 - alpha) * self.q[key] + alpha * reward
            self.counts[key] += len(groups)
            metrics[f"reward/{key}"] = reward
            metrics[f"chosen/{key}"] = len(groups)
        metrics.update({f"q/{key}": value for key, value in self.q.items()})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "q": dict(self.q), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q = {k: float(v) for k, v in state["q"].items()}
        self.counts = {k: int(v) for k, v in state["counts"].items()}


CURRICULA.register("bandit", BanditCurriculum)
