"""`self_refine` (Madaan et al. 2023): answer, critique the answer, revise; repeat up to R rounds.

One round, for every problem still refining (all problems batched together):

1. *(verifier-signal mode only)* the task's verifier checks the current answer. A correct answer stops
   (`verifier_correct`): it is never revised, so correct -> wrong is 0 by construction. A wrong one goes
   on, and the critique prompt tells the model that its answer is wrong (Reflexion-style oracle feedback:
   an upper bound on what feedback can do, not a deployable method).
2. Critique: the conversation is the problem's prompt, the current solution as the assistant's turn,
   then `CRITIQUE_PROMPT` (or `VERIFIER_CRITIQUE_PROMPT`). If the critique says there is no error
   (`says_no_error`), the problem stops (`critique_no_error`; intrinsic mode only).
3. Revision: the same conversation plus the critique and `REVISE_PROMPT`. A revision that states no
   final answer is dropped and the problem stops (`revision_unparsed`, with `discard_unparsed`). If the
   revised answer is equivalent to the current one, the problem stops (`answer_unchanged`); otherwise
   the revision becomes the current solution.

After R rounds the rest stop with `max_rounds`. Only the latest solution is carried into the next round's
conversation (not the whole history), which keeps prompts short. The initial answer is the greedy decode
(shared with the `greedy` strategy) or, with `temperature` > 0, the first sample of that pool; critiques and
revisions are greedy. Confidence: exp(mean token log-prob) of the final solution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from ..core.records import Message, Problem, Sample, SamplingParams
from ..scoring import equivalent
from . import steps
from .base import STRATEGIES, Context, StrategyConfig, StrategyResult, sequence_confidence

REFINE_VERSION = "r1"
CRITIQUE_PROMPT = ("Check your solution above step by step. If it is correct, reply exactly: No error. "
                   "Otherwise say briefly what is wrong.")
WRONG_FEEDBACK = "Your final answer above is wrong."
ANSWER_LINE = "Finish with a final line: Answer: <answer>"
VERIFIER_CRITIQUE_PROMPT = WRONG_FEEDBACK + " Check your solution step by step and say briefly what is wrong."
REVISE_PROMPT = "Write a corrected solution using your review. " + ANSWER_LINE
# One turn, no critique: the prompt of the training loop's self-correction DPO pairs (select.pairs).
CORRECTION_PROMPT = WRONG_FEEDBACK + " Write a corrected solution. " + ANSWER_LINE

_POSITIVE = re.compile(r"\bno (?:errors?|mistakes?)\b|\b(?:is|are|looks|seems) (?:all |completely )?(?:correct|right)\b"
                       r"|^\W*(?:correct|yes)\b")
_NEGATIVE = re.compile(r"incorrect|not correct|isn't correct|wrong|should be|\bthere (?:is|was) an? (?:error|mistake)"
                       r"|\bthe (?:error|mistake) is")


def says_no_error(critique: str) -> bool:
    """Whether a critique's first sentence declares the solution correct (a positive cue, no negative one).

    Only the first sentence counts: small models often answer "No error." and then parrot the rest of
    the instruction ("Otherwise say briefly what is wrong."), which must not read as a complaint.

    >>> says_no_error("No error."), says_no_error("The solution is correct."), says_no_error("Yes, it is right")
    (True, True, True)
    >>> says_no_error("No error. Otherwise say briefly what is wrong.")
    True
    >>> says_no_error("The answer is wrong: 5 - 3 = 2."), says_no_error("It is correct but 2 should be 3")
    (False, False)
    >>> says_no_error("Let me check: 2 + 2 = 4. No error.")
    False
    """
    first = re.split(r"(?<=[.!?])\s|\n", critique.strip().lower(), maxsplit=1)[0]
    return _POSITIVE.search(first) is not None and _NEGATIVE.search(first) is None


class RefineFields(StrategyConfig):
    rounds: int = Field(2, ge=1, description="Most critique -> revise rounds (R).")
    verifier_signal: bool = Field(
        False, description="Tell the critique whether the answer is wrong (oracle feedback: an upper bound).")
    stop_on_no_error: bool = Field(True, description="Stop when the critique says there is no error (intrinsic mode).")
    stop_on_same_answer: bool = Field(True, description="Stop when a revision keeps the same answer.")
    discard_unparsed: bool = Field(
        True, description="Drop a revision that states no final answer and stop, keeping the previous solution "
                          "(otherwise it replaces it).")
    equivalence: Literal["auto", "math", "exact"] = Field(
        "auto", description="Answer equivalence for the same-answer stop.")


class SelfRefineConfig(RefineFields):
    temperature: float = Field(
        0.0, ge=0.0, description="Temperature of the initial answer (0: greedy, shared with `greedy`).")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus mass of the initial answer when sampled.")


@dataclass
class Refining:
    """One problem's refinement state."""

    problem: Problem
    current: Sample
    answer: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    rounds: int = 0
    stop_reason: str | None = None
    first_critique_no_error: bool | None = None


def _chat(problem: Problem) -> list[Message]:
    return [{"role": "user", "content": problem.prompt}] if isinstance(problem.prompt, str) else list(problem.prompt)


def critique_messages(problem: Problem, solution: str, verifier_signal: bool) -> list[Message]:
    prompt = VERIFIER_CRITIQUE_PROMPT if verifier_signal else CRITIQUE_PROMPT
    return _chat(problem) + [{"role": "assistant", "content": solution}, {"role": "user", "content": prompt}]


def revise_messages(problem: Problem, solution: str, critique: str, verifier_signal: bool) -> list[Message]:
    return critique_messages(problem, solution, verifier_signal) + [
        {"role": "assistant", "content": critique}, {"role": "user", "content": REVISE_PROMPT}]


def correction_messages(problem: Problem, solution: str) -> list[Message]:
    """The problem, a wrong `solution` as the assistant's turn, then `CORRECTION_PROMPT` (one-turn revision).

    >>> [m["role"] for m in correction_messages(Problem("a", "2+2?", "4"), "Answer: 5")]
    ['user', 'assistant', 'user']
    """
    return _chat(problem) + [{"role": "assistant", "content": solution}, {"role": "user", "content": CORRECTION_PROMPT}]


def _generate(ctx: Context, prompts: list, ids: list[str], max_new_tokens: int, seed: int) -> list[Sample]:
    params = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens, seed=seed)
    return [out[0] for out in ctx.generator.generate(prompts, params, n=1, problem_ids=ids)] if prompts else []


def _verify(ctx: Context, states: list[Refining], r: int) -> None:
    for s in states:
        correct = ctx.task.score(s.problem, s.current.text).verdict == "correct"
        s.events.append({"step": "verifier", "round": r, "correct": correct, "source": "oracle"})
        if correct:
            s.stop_reason = "verifier_correct"


def _critique(ctx: Context, cfg: RefineFields, states: list[Refining], r: int) -> list[Sample]:
    prompts = [critique_messages(s.problem, s.current.text, cfg.verifier_signal) for s in states]
    critiques = _generate(ctx, prompts, [s.problem.id for s in states], cfg.max_new_tokens, ctx.seed + 101 * r)
    for s, c in zip(states, critiques):
        no_error = says_no_error(c.text)
        s.tokens += c.n_tokens
        event = steps.sample_event(c, None, "critique", round=r, says_no_error=no_error)
        event["id"] = f"{s.current.id}:critique"
        s.events.append(event)
        if r == 1:
            s.first_critique_no_error = no_error
        if no_error and cfg.stop_on_no_error and not cfg.verifier_signal:
            s.stop_reason = "critique_no_error"
    return critiques


def _revise(ctx: Context, cfg: RefineFields, states: list[Refining], critiques: list[Sample], r: int) -> None:
    prompts = [revise_messages(s.problem, s.current.text, c.text, cfg.verifier_signal)
               for s, c in zip(states, critiques)]
    revisions = _generate(ctx, prompts, [s.problem.id for s in states], cfg.max_new_tokens, ctx.seed + 101 * r + 1)
    for s, rev in zip(states, revisions):
        rev.parent, rev.index = s.current.id, r
        answer = steps.extract([rev])[0]
        same = answer == s.answer or (answer is not None and s.answer is not None
                                      and equivalent(answer, s.answer, cfg.equivalence))
        s.tokens += rev.n_tokens
        s.events.append(steps.sample_event(rev, answer, "revision", round=r, changed=not same))
        s.rounds = r
        if answer is None and s.answer is not None and cfg.discard_unparsed:
            s.stop_reason = "revision_unparsed"
            continue
        s.current, s.answer = rev, answer
        if same and cfg.stop_on_same_answer:
            s.stop_reason = "answer_unchanged"


def refine(ctx: Context, cfg: RefineFields, problems: list[Problem], starts: list[Sample]) -> list[Refining]:
    """Run the critique -> revise loop from each problem's starting sample (see the module docstring)."""
    states = [Refining(p, s, steps.extract([s])[0]) for p, s in zip(problems, starts)]
    for r in range(1, cfg.rounds + 1):
        active = [s for s in states if s.stop_reason is None]
        if cfg.verifier_signal:
            _verify(ctx, active, r)
            active = [s for s in active if s.stop_reason is None]
        if not active:
            break
        critiques = _critique(ctx, cfg, active, r)
        keep = [(s, c) for s, c in zip(active, critiques) if s.stop_reason is None]
        if keep:
            _revise(ctx, cfg, [s for s, _ in keep], [c for _, c in keep], r)
    for s in states:
        s.stop_reason = s.stop_reason or "max_rounds"
    return states


def refine_extra(state: Refining, before: Sample, before_answer: str | None) -> dict[str, Any]:
    return {"before_text": before.text, "before_answer": before_answer, "stop_reason": state.stop_reason,
            "rounds": state.rounds, "refined": True, "first_critique_no_error": state.first_critique_no_error}


def run(cfg: SelfRefineConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    starts = [g[0] for g in steps.sample(ctx, problems, 1, cfg.temperature, cfg.top_p, cfg.max_new_tokens)]
    results = []
    for start, state in zip(starts, refine(ctx, cfg, problems, starts)):
        first = steps.extract([start])[0]
        trace = [steps.sample_event(start, first)] + state.events
        results.append(StrategyResult(state.problem.id, state.answer, sequence_confidence(state.current),
                                      state.current.text, trace, start.n_tokens + state.tokens,
                                      refine_extra(state, start, first)))
    return results


STRATEGIES.register("self_refine", (SelfRefineConfig, run))
