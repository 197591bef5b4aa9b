"""The oracle verifier: the task's own scorer against the gold answer.

Best-of-N with this scorer is an *upper bound* (it reads the answer key), reported as such: it tells
how much a perfect verifier could gain from the same samples, not what a deployable method reaches.
"""

from __future__ import annotations

from ..core.errors import ConfigError, SelftaughtError
from ..core.protocols import RewardFn, Task
from ..core.records import Problem, Sample
from .spec import SCORERS, Scorer


def make_oracle(task: Task) -> RewardFn:
    """1.0 when `task.score` judges the sample correct, else 0.0; needs gold answers.

    >>> class T:
    ...     name, version = "t", "1"
    ...     def score(self, problem, completion):
    ...         from selftaught.core.records import Score
    ...         ok = completion.endswith(problem.answer)
    ...         return Score("x", completion, "correct" if ok else "incorrect", float(ok))
    >>> make_oracle(T())([Problem("p", "1+1?", "2")] * 2, [Sample("p", "Answer: 2", 3), Sample("p", "3", 1)])
    [1.0, 0.0]
    """

    def oracle(problems: list[Problem], samples: list[Sample]) -> list[float]:
        if len(problems) != len(samples):
            raise ValueError(f"oracle: {len(problems)} problems for {len(samples)} samples.")
        rewards = []
        for problem, sample in zip(problems, samples):
            if problem.answer is None:
                raise SelftaughtError(f"oracle scorer: problem {problem.id} has no gold answer (label-free task); "
                                      "use logprob, self_certainty or judge instead.")
            rewards.append(1.0 if task.score(problem, sample.text).verdict == "correct" else 0.0)
        return rewards

    return oracle


def _build_oracle(task: Task | None = None) -> RewardFn:
    if task is None:
        raise ConfigError("the oracle scorer needs the task (its verifier).")
    return make_oracle(task)


SCORERS.register("oracle", Scorer(_build_oracle, bounded=True))
