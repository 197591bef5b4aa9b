"""What every strategy shares: its config base, the run context, the shared sample pool, the result.

A strategy is a pair `(ConfigModel, run)` with `run(cfg, ctx, problems) -> list[StrategyResult]`
(one result per problem, in order), registered in `STRATEGIES` at the bottom of its own module (a
user's own is named `module:object`, the object being such a pair). It draws samples through `ctx.pool(...)`, so strategies run in the
same `Context` on the same problems share samples where that is legitimate: self-consistency@k,
best-of-N@k, weighted votes and adaptive consistency all read the first k samples of one pool per
sampling setting (adaptive consistency takes them in order, batch by batch). Each strategy is charged
for the tokens of every sample it read, whoever generated it first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..core.protocols import Generator, RewardFn, StepScorer, Task
from ..core.records import Problem, Sample, SamplingParams
from ..core.registry import Registry
from ..scoring import SCORERS, Equivalence, make_scorer

STRATEGIES: Registry[tuple[type["StrategyConfig"], "RunFn"]] = Registry("strategy", package="selftaught.inference")


def _known_scorer(name: str) -> str:
    problem = SCORERS.check(name)
    if problem:
        raise ValueError(problem)
    return name


# A field naming a scorer: a registered name or `module:object`, checked when the config is validated.
ScorerField = Annotated[str, AfterValidator(_known_scorer)]


class StrategyConfig(BaseModel):
    """Fields every strategy has."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    max_new_tokens: int = Field(256, ge=1, description="Most tokens generated per sample (and per critique/revision).")


class SamplingFields(StrategyConfig):
    """Fields of strategies that sample at a temperature and vote."""

    temperature: float = Field(0.7, gt=0.0, description="Sampling temperature.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    equivalence: Literal["auto", "math", "exact"] = Field(
        "auto", description="How answers are grouped for votes: `math` (math-verify), `exact` (normalised string), "
                            "`auto` (math-verify for single math expressions, exact otherwise).")


class SampledConfig(SamplingFields):
    """Fields of strategies that draw a fixed number of samples per problem."""

    n: int = Field(8, ge=1, description="Samples per problem.")


@dataclass
class StrategyResult:
    """One problem's outcome: the final answer, a confidence in [0, 1] (None if the backend gives none),
    the completion whose answer is final (scored by the task), every step's record, tokens generated."""

    problem_id: str
    answer: str | None
    confidence: float | None
    final_text: str
    trace: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class SamplePool:
    """The first k samples of each problem under one sampling setting, generated on demand and kept.

    Samples are numbered 0, 1, 2, ... per problem in the order they were generated; a later call that
    needs more draws with a fresh seed (`params.seed + 7919 * call`), so no sample is a replay of another.
    """

    def __init__(self, generator: Generator, params: SamplingParams) -> None:
        self.generator, self.params = generator, params
        self.samples: dict[str, list[Sample]] = {}
        self.calls = 0
        self.generated_tokens = 0

    def take(self, problems: list[Problem], k: int) -> list[list[Sample]]:
        """The first `k` samples of each problem (generating the missing ones)."""
        self.ensure(problems, k)
        return [self.samples[p.id][:k] for p in problems]

    def ensure(self, problems: list[Problem], k: int) -> None:
        by_missing: dict[int, list[Problem]] = {}
        for p in problems:
            missing = k - len(self.samples.setdefault(p.id, []))
            if missing > 0:
                by_missing.setdefault(1 if self.params.greedy else missing, []).append(p)
        for missing, todo in sorted(by_missing.items()):
            params = SamplingParams(self.params.temperature, self.params.top_p, self.params.max_new_tokens,
                                    self.params.seed + 7919 * self.calls)
            self.calls += 1
            outs = self.generator.generate([p.prompt for p in todo], params, n=missing,
                                           problem_ids=[p.id for p in todo])
            for p, new in zip(todo, outs):
                have = self.samples[p.id]
                for j, s in enumerate(new):
                    s.index = len(have) + j
                    self.generated_tokens += s.n_tokens
                have.extend(new)


@dataclass
class Context:
    """Everything a strategy runs against: the task, the generator, shared pools and scorers."""

    task: Task
    generator: Generator
    seed: int = 0
    pools: dict[tuple, SamplePool] = field(default_factory=dict)
    scorers: dict[str, RewardFn] = field(default_factory=dict)
    scorer_options: dict[str, Any] = field(default_factory=dict)  # e.g. verifier_path / prm_path (learned scorers)
    step_scorers: dict[str, StepScorer] = field(default_factory=dict)

    def pool(self, temperature: float = 0.0, top_p: float = 1.0, max_new_tokens: int = 256) -> SamplePool:
        """The shared pool for one sampling setting (greedy: temperature 0)."""
        key = (float(temperature), float(top_p) if temperature > 0 else 1.0, int(max_new_tokens))
        if key not in self.pools:
            self.pools[key] = SamplePool(self.generator, SamplingParams(key[0], key[1], key[2], self.seed))
        return self.pools[key]

    def scorer(self, name: str, equivalence: Equivalence = "auto") -> RewardFn:
        """The scorer `name`, built once per context (so a judge's cache is shared)."""
        key = f"{name}:{equivalence}" if name == "self_certainty_borda" else name
        if key not in self.scorers:
            self.scorers[key] = make_scorer(name, task=self.task, generator=self.generator, equivalence=equivalence,
                                            **self.scorer_options)
        return self.scorers[key]

    def step_scorer(self, name: str) -> StepScorer:
        """The step scorer (process reward model) `name`, built once per context."""
        if name not in self.step_scorers:
            from ..scoring.step_scorers import make_step_scorer

            self.step_scorers[name] = make_step_scorer(name, task=self.task, generator=self.generator,
                                                       options=self.scorer_options)
        return self.step_scorers[name]


RunFn = Callable[[Any, Context, list[Problem]], list[StrategyResult]]


def sequence_confidence(sample: Sample) -> float | None:
    """exp(mean token log-prob): the geometric-mean probability of the sample's tokens, or None."""
    if "mean_logprob" in sample.stats:
        return math.exp(float(sample.stats["mean_logprob"]))
    if sample.logprob is not None and sample.n_tokens > 0:
        return math.exp(sample.logprob / sample.n_tokens)
    return None
