"""`beam_search`: step-level beam search guided by a process reward model (search-and-learn's form).

N = `n` solutions are started from the prompt (one step each). Each iteration scores the newest
candidates with the step scorer `prm`; finished ones (see `step_search`) leave the beam; of the rest,
the N/M best by their aggregate step score (`aggregate`, `last` by default: the newest step's score;
ties: the earliest) are kept, and each grows M = `beam_width` children by one step. As solutions
finish the kept width shrinks to ceil((N - finished) / M), so a search writes about N solutions, and
generates about as many tokens as N samples would (search-and-learn refills to N each iteration instead).
The answer: the finished solution with the best aggregate score (`final: best`) or the vote weighted by
it (`final: vote`); confidence: that score or the vote share.

Tokens: `tokens` counts every generated token, pruned branches included; `extra.scored_tokens` the
solution tokens the step scorer read (prompts not counted, as for generation).
"""

from __future__ import annotations

from ..core.records import Problem
from .base import STRATEGIES, Context, StrategyResult
from .step_search import Beam, Ledger, SearchConfig, expand, pick, score_beams, step_event


class BeamSearchConfig(SearchConfig):
    pass


def keep_best(candidates: list[Beam], width: int, how: str) -> list[Beam]:
    """The `width` unfinished candidates with the best aggregate score, best first (ties: the earliest).

    >>> beams = [Beam(["a"], [0.2], id="x"), Beam(["b"], [0.9], id="y"), Beam(["c"], [0.9], id="z")]
    >>> [b.id for b in keep_best(beams, 2, "last")]
    ['y', 'z']
    """
    growing = [b for b in candidates if not b.done]
    order = sorted(range(len(growing)), key=lambda i: (-growing[i].value(how), i))
    return [growing[i] for i in order[:max(0, width)]]


def run(cfg: BeamSearchConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    n, m = cfg.n, cfg.beam_width
    ledgers = {p.id: Ledger() for p in problems}
    finished: dict[str, list[Beam]] = {p.id: [] for p in problems}
    # iteration 0: N first steps from the prompt itself (one prompt, n = N: its prefill is shared)
    roots = expand(ctx, cfg, [(p, Beam()) for p in problems], n, 0, ledgers)
    candidates = dict(zip([p.id for p in problems], roots))
    for it in range(cfg.max_steps):
        score_beams(ctx, cfg, [(p, b) for p in problems for b in candidates[p.id]], ledgers)
        jobs = []
        for p in problems:
            finished[p.id] += [b for b in candidates[p.id] if b.done]
            width = min(n // m, -(-(n - len(finished[p.id])) // m))
            kept = keep_best(candidates[p.id], width, cfg.aggregate)
            ledgers[p.id].trace += [step_event(it, b, b in kept or b.done) for b in candidates[p.id]]
            jobs += [(p, b) for b in kept]
        if not jobs:
            break
        grown = expand(ctx, cfg, jobs, m, it + 1, ledgers)
        candidates = {p.id: [] for p in problems}
        for (p, _), children in zip(jobs, grown):
            candidates[p.id] += children
    results = []
    for p in problems:
        beams = finished[p.id] or [Beam(id="empty", finish="empty")]
        results.append(pick(p, beams, cfg, ctx, ledgers[p.id], {"n": n, "beam_width": m}))
    return results


STRATEGIES.register("beam_search", (BeamSearchConfig, run))
