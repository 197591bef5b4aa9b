"""`dvts`: diverse verifier tree search (Beeching et al. 2024, huggingface/search-and-learn).

The N = `n` budget is split into N/M independent subtrees (M = `beam_width`). Each iteration every
growing subtree samples M next steps from its current solution (one prompt, n = M: one prefill), the
step scorer `prm` scores them, and the subtree follows the best by aggregate step score (ties: the
earliest); the other M - 1 are dropped. A subtree ends when the step it follows finishes its solution
(see `step_search`). Independent subtrees keep the N/M solutions diverse where one beam search would
collapse onto a few prefixes. The answer: the subtree solution with the best aggregate score
(`final: best`) or the vote over the N/M solutions weighted by it (`final: vote`).

Tokens: `tokens` counts every generated token (all M children of every step); `extra.scored_tokens`
the solution tokens the step scorer read.
"""

from __future__ import annotations

from ..core.records import Problem
from . import steps as st
from .base import STRATEGIES, Context, StrategyResult
from .step_search import Beam, Ledger, SearchConfig, expand, pick, score_beams, step_event


class DVTSConfig(SearchConfig):
    pass


def run(cfg: DVTSConfig, ctx: Context, problems: list[Problem]) -> list[StrategyResult]:
    n, m = cfg.n, cfg.beam_width
    ledgers = {p.id: Ledger() for p in problems}
    # iteration 0: all N first steps from the prompt in one job per problem, split into N/M subtrees
    first = expand(ctx, cfg, [(p, Beam()) for p in problems], n, 0, ledgers)
    groups = [(p, children[j:j + m]) for p, children in zip(problems, first) for j in range(0, n, m)]
    for k, (p, children) in enumerate(groups):
        for child in children:
            child.id = f"t{(k % (n // m))}{child.id.removeprefix('root')}"
    subtrees: dict[str, list[Beam]] = {p.id: [] for p in problems}
    for it in range(cfg.max_steps):
        score_beams(ctx, cfg, [(p, b) for p, children in groups for b in children], ledgers)
        jobs = []
        for p, children in groups:
            best = children[st.argmax([b.value(cfg.aggregate) for b in children])]
            ledgers[p.id].trace += [step_event(it, b, b is best) for b in children]
            if best.done:
                subtrees[p.id].append(best)
            else:
                jobs.append((p, best))
        if not jobs:
            break
        groups = list(zip([p for p, _ in jobs], expand(ctx, cfg, jobs, m, it + 1, ledgers)))
    return [pick(p, subtrees[p.id], cfg, ctx, ledgers[p.id], {"n": n, "beam_width": m, "subtrees": n // m})
            for p in problems]


STRATEGIES.register("dvts", (DVTSConfig, run))
