"""Mode `self_label` (Lee et al. 2025): the model labels problems one level past what it was trained on.

Each round trains on problems of the frontier level (and, for a `replay` fraction, of the levels below
it). Their gold answers are never trained on: the loop's selection rule must be `majority` (checked
when the config loads), so a problem's label is the majority answer of its samples, kept when the vote
is clear enough (`select.min_share`) and the answer passes the task's length/format filter (a task
scores a malformed answer `unparsed`, and unparsed samples do not vote). Gold answers only measure how
right the labels were (`curriculum/label_accuracy`).

The frontier moves up one level after a round in which the model was reliable at it: at least
`advance_at` of the frontier's problems had a well-formed majority answer with a vote share of at
least `advance_share`. That is self-consistency, no gold answer involved. Options (the `curriculum:`
section): start_level, max_level, replay, advance_share, advance_at, eval_levels.

Arms are the levels 1..max_level of one source; `eval_arms()` the levels evaluated each round.
"""

from __future__ import annotations

import random
from typing import Any

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from ..metrics.grouping import group_by_problem
from ..scoring.equivalence import majority
from .base import CURRICULA, Arm, Curriculum


class SelfLabel(Curriculum):
    """Frontier level labelled by the model's own majority vote; moves up when the votes are clear."""

    mode = "self_label"

    def __init__(self, options: Any, arms: list[Arm], seed: int):
        super().__init__(options, arms, seed)
        sources = {a.source for a in arms}
        if len(sources) != 1 or any(a.level is None for a in arms):
            raise ConfigError(f"curriculum.mode self_label needs the levels of one task source as its arms, got "
                              f"{', '.join(a.key for a in arms) or 'none'}: use a task with levels "
                              f"(e.g. task.callable: selftaught.tasks.reversed_addition:task).")
        self.source = sources.pop()
        self.frontier = int(options.start_level)
        self.history: list[dict[str, Any]] = []  # one entry a round: frontier, yield, label accuracy
        self.rng = random.Random(seed)

    def arm(self, level: int) -> Arm:
        return Arm(self.source, level)

    def plan(self, index: int, n: int) -> dict[Arm, int]:
        """`replay` of the n problems spread over levels 1..frontier-1 (the rng places the remainder), the rest
        at the frontier."""
        below = list(range(1, self.frontier))
        n_replay = round(self.options.replay * n) if below else 0
        counts = {self.arm(self.frontier): n - n_replay}
        each, extra = divmod(n_replay, len(below)) if below else (0, 0)
        lucky = set(self.rng.sample(below, extra)) if extra else set()
        for level in below:
            if each + (level in lucky):
                counts[self.arm(level)] = each + (level in lucky)
        return counts

    def update(self, index: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
        """Measure the frontier's self-labels; move the frontier up when they were clear enough."""
        frontier_key = self.arm(self.frontier).key
        groups = [g for g in group_by_problem(problems, samples, scores)
                  if g.n and g.problem.meta.get("arm", self.arm(g.problem.meta.get("level", 0)).key) == frontier_key]
        if not groups:
            raise ValueError(f"self_label: round {index} has no sampled problems at the frontier {frontier_key}")
        reliable, right, labelled = 0, 0, 0
        for g in groups:
            label, members = majority(g.answers, "exact")
            if label is None:
                continue
            labelled += 1
            reliable += len(members) / g.n >= self.options.advance_share
            right += g.problem.answer is not None and label == str(g.problem.answer).strip()
        share = reliable / len(groups)
        level = self.frontier
        advanced = share >= self.options.advance_at and self.frontier < self.options.max_level
        self.frontier += int(advanced)
        entry = {"round": index, "level": level, "reliable": round(share, 4),
                 "label_accuracy": round(right / labelled, 4) if labelled else None, "advanced": advanced}
        self.history.append(entry)
        return {"curriculum/level": level, "curriculum/reliable": entry["reliable"],
                "curriculum/label_accuracy": entry["label_accuracy"], "curriculum/advanced": advanced,
                "curriculum/frontier": self.frontier}

    def eval_arms(self) -> list[Arm]:
        levels = self.options.eval_levels or range(1, min(self.frontier + 2, self.options.max_level) + 1)
        return [self.arm(level) for level in levels]

    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {"mode": self.mode, "frontier": self.frontier, "history": list(self.history),
                "rng": [version, list(internal), gauss]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("mode") != self.mode:
            raise ConfigError(f"curriculum.json holds the state of mode {state.get('mode')!r}, not {self.mode!r}: "
                              "the run directory was made with another curriculum.mode (start it with --fresh).")
        self.frontier, self.history = int(state["frontier"]), list(state["history"])
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))


CURRICULA.register("self_label", SelfLabel)
