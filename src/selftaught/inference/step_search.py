"""What the step-level strategies share: the `prm` options, partial solutions (`Beam`), one step of
generation for many beams at once, step scoring with its token charge, and the final pick.

A step ends at the task's step separator (`tasks.steps.step_separator`, a newline by default), given to
the backend as a stop string; the next step continues from the prompt with the steps so far begun in
the assistant turn (`prefix.continuation_prompt`). All beams of all problems that grow in one
iteration go to the backend in one call, each beam's prompt once with `n` = its number of children,
so the fast backend prefills a beam's prompt (and the few-shot prefix all prompts share) once for all
its children. Nothing is carried across iterations: each iteration prefills the kept beams again.

A beam is finished when its last step states a final answer (`Answer: ...`), is empty (the model
ended its turn or wrote a blank line: the backends do not say which), was cut at `max_step_tokens`,
the beam reached `max_new_tokens` in all, or it has `max_steps` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..core.records import DEFAULT_STOP, Problem, Sample, SamplingParams
from ..scoring.step_scorers import Aggregate, aggregate, check_step_scorer
from ..tasks.extract import extract_answer
from ..tasks.steps import join_steps, split_steps, step_separator
from . import steps as st
from .base import Context, SamplingFields, StrategyResult
from .prefix import continuation_prompt, count_tokens


class PRMFields(SamplingFields):
    """Fields of strategies that score steps with a process reward model (a StepScorer)."""

    prm: str | None = Field("step_logprob", description=(
        "Step scorer (process reward model): a registered name (`step_logprob`: the model's own per-step "
        "geometric-mean token probability, untrained) or `module:object` (a StepScorer or a factory of one)."))
    aggregate: Literal["min", "prod", "last"] = Field(
        "last", description="How a solution's step scores become one: weakest step, product, or last step.")

    @field_validator("prm")
    @classmethod
    def _known_prm(cls, name: str | None) -> str | None:
        problem = check_step_scorer(name)
        if problem:
            raise ValueError(problem)
        return name


class SearchConfig(PRMFields):
    """Fields of step-level tree search (beam search, DVTS)."""

    n: int = Field(8, ge=1, description="N: solutions grown per problem (beams in all; a multiple of beam_width).")
    beam_width: int = Field(4, ge=1, description="M: children of each kept beam per step (beam search keeps N/M "
                                                 "beams; DVTS grows N/M independent subtrees).")
    max_steps: int = Field(8, ge=1, description="Most steps in a solution; a beam is finished at this many.")
    max_step_tokens: int = Field(64, ge=1, description="Most tokens generated for one step.")
    final: Literal["best", "vote"] = Field(
        "best", description="The answer among finished solutions: the best aggregate step score, or the vote "
                            "weighted by it.")

    @model_validator(mode="after")
    def _divisible(self) -> "SearchConfig":
        if self.beam_width > self.n or self.n % self.beam_width:
            raise ValueError(f"n ({self.n}) must be a multiple of beam_width ({self.beam_width}), at least as "
                             "large: set n to a multiple (e.g. n=16 with beam_width=4).")
        return self


@dataclass
class Beam:
    """A partial solution: its steps, their scores, the tokens generated along its path."""

    steps: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    tokens: int = 0
    step_tokens: int = 0  # generated for the last step
    finish: str = ""  # "" while growing; else answer | empty | length | max_steps
    id: str = "root"

    @property
    def done(self) -> bool:
        return bool(self.finish)

    def value(self, how: Aggregate) -> float:
        return aggregate(self.scores, how)


@dataclass
class Ledger:
    """One problem's search: tokens generated and scored, and the trace of every step."""

    generated: int = 0
    scored: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)


def _child(parent: Beam, s: Sample, cfg: SearchConfig, k: int) -> Beam:
    step = s.text.strip()
    beam = Beam(parent.steps + ([step] if step else []), [], parent.tokens + s.n_tokens, s.n_tokens,
                id=f"{parent.id}.{k}")
    if not step:
        beam.finish = "empty"
    elif extract_answer(step) is not None:
        beam.finish = "answer"
    elif s.finish_reason == "length" or beam.tokens >= cfg.max_new_tokens:
        beam.finish = "length"
    elif len(beam.steps) >= cfg.max_steps:
        beam.finish = "max_steps"
    return beam


def expand(ctx: Context, cfg: SearchConfig, jobs: list[tuple[Problem, Beam]], n: int, call: int,
           ledgers: dict[str, Ledger]) -> list[list[Beam]]:
    """`n` children of each (problem, beam) job, one step longer, from one backend call."""
    if not jobs:
        return []
    sep = step_separator(ctx.task)
    prompts = [continuation_prompt(ctx.generator, p.prompt, join_steps(b.steps, sep) + sep if b.steps else "")
               for p, b in jobs]
    room = max(cfg.max_new_tokens - b.tokens for _, b in jobs)
    params = SamplingParams(cfg.temperature, cfg.top_p, max(1, min(cfg.max_step_tokens, room)),
                            ctx.seed + 7919 * call, tuple(DEFAULT_STOP) + (sep,))
    outs = ctx.generator.generate(prompts, params, n=n, problem_ids=[p.id for p, _ in jobs])
    children = []
    for (problem, parent), samples in zip(jobs, outs):
        ledgers[problem.id].generated += st.tokens(samples)
        children.append([_child(parent, s, cfg, k) for k, s in enumerate(samples)])
    return children


def score_beams(ctx: Context, cfg: PRMFields, pairs: list[tuple[Problem, Beam]], ledgers: dict[str, Ledger]) -> None:
    """Set each beam's step scores (one StepScorer call for all) and charge the tokens scored."""
    todo = [(p, b) for p, b in pairs if b.steps]
    if not todo:
        return
    scores = ctx.step_scorer(cfg.prm).step_scores([p for p, _ in todo], [b.steps for _, b in todo])
    sep = step_separator(ctx.task)
    for (p, b), s in zip(todo, scores):
        if len(s) != len(b.steps):
            raise RuntimeError(f"step scorer {cfg.prm} returned {len(s)} scores for {len(b.steps)} steps.")
        b.scores = [float(x) for x in s]
        ledgers[p.id].scored += count_tokens(ctx.generator, [join_steps(b.steps, sep)])


def solution_steps(ctx: Context, samples: list[Sample]) -> list[list[str]]:
    """The steps of whole sampled solutions, split at the task's separator."""
    return [split_steps(s.text, step_separator(ctx.task)) for s in samples]


def pick(problem: Problem, beams: list[Beam], cfg: SearchConfig, ctx: Context, ledger: Ledger,
         extra: dict[str, Any]) -> StrategyResult:
    """The result of a search from its finished beams (`final`: best aggregate, or weighted vote).

    The trace: every grown step (`search` events, each with the tokens generated for it, so their sum is
    the search's generated tokens), then each finished solution (`sample` events; `path_tokens`: the
    tokens generated along its own path)."""
    sep = step_separator(ctx.task)
    texts = [join_steps(b.steps, sep) for b in beams]
    answers = [extract_answer(t) for t in texts]
    values = [b.value(cfg.aggregate) for b in beams]
    if cfg.final == "best":
        best = st.argmax(values)
        answer, confidence, chosen = answers[best], values[best], best
    else:
        v = st.majority(answers, values, cfg.equivalence)
        chosen = v.index if v.index is not None else st.argmax(values)
        answer, confidence = v.answer, v.share
    trace = ledger.trace + [{"step": "sample", "id": b.id, "text": t, "answer": a, "value": v, "scores": b.scores,
                             "path_tokens": b.tokens, "finish_reason": b.finish, "chosen": i == chosen}
                            for i, (b, t, a, v) in enumerate(zip(beams, texts, answers, values))]
    extra = {**extra, "prm": cfg.prm, "aggregate": cfg.aggregate, "final": cfg.final, "chosen": chosen,
             "generated_tokens": ledger.generated, "scored_tokens": ledger.scored, "finished": len(beams)}
    return StrategyResult(problem.id, answer, confidence, texts[chosen], trace, ledger.generated, extra)


def step_event(iteration: int, beam: Beam, kept: bool) -> dict[str, Any]:
    """A trace record of one grown step (not scored by the runner: its `step` is `search`)."""
    return {"step": "search", "iteration": iteration, "id": beam.id, "text": beam.steps[-1] if beam.steps else "",
            "score": beam.scores[-1] if beam.scores else None, "n_tokens": beam.step_tokens,
            "finish_reason": beam.finish, "kept": kept}
