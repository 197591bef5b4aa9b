"""The small interfaces between layers (DESIGN.md: small Protocols, not base-class trees)."""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from .records import Problem, Prompt, Sample, SamplingParams, Score


@runtime_checkable
class Task(Protocol):
    name: str
    version: str

    def problems(self, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` problems of `split` ("train" or "eval"); the two splits never overlap."""
        ...

    def score(self, problem: Problem, completion: str) -> Score:
        """Extract the answer from `completion` and judge it against `problem.answer`.

        The Score's `sample_id` may be anything (the problem id, say): the caller that scores a
        Sample (the loop) stamps the sample's id on the returned Score.
        """
        ...


@runtime_checkable
class Generator(Protocol):
    def generate(self, prompts: list[Prompt], params: SamplingParams, n: int = 1,
                 problem_ids: list[str] | None = None) -> list[list[Sample]]:
        """n samples for each prompt, in prompt order."""
        ...


def check_generate_args(prompts: list[Prompt], params: SamplingParams, n: int,
                        problem_ids: list[str] | None) -> None:
    """The argument checks every Generator.generate makes (ValueError: these are programming errors)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if problem_ids is not None and len(problem_ids) != len(prompts):
        raise ValueError(f"{len(problem_ids)} problem_ids for {len(prompts)} prompts")
    if params.max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {params.max_new_tokens}")


# The one signature of scorers and reward functions (the project's own, not TRL's): one float per sample,
# `problems[i]` being the problem `samples[i]` answers. GRPO hands them to TRL, whose reward functions take
# `(prompts, completions, **columns)`, through the adapter `selftaught.train.rewards.trl_reward`.
RewardFn = Callable[[list[Problem], list[Sample]], list[float]]


@runtime_checkable
class StepScorer(Protocol):
    """A process reward model's view of a solution: one score in [0, 1] per step (the chance that the
    solution is still on a right path after that step). Steps come from `selftaught.tasks.steps.split_steps`."""

    def step_scores(self, problems: list[Problem], steps: list[list[str]]) -> list[list[float]]:
        """Scores of `steps[i]` (the steps of one solution of `problems[i]`), one per step, in order."""
        ...
