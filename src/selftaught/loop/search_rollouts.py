"""Search outputs as a round's training attempts (`sampling.strategy: beam_search | dvts`), as ReST-MCTS*
(Zhang et al. 2024) makes its self-training data: a PRM-guided step-level search writes each problem's
solutions, the task's verifier scores them, and selection (and the PRM filter) keeps the good ones.

The search is the test-time strategy of the same name (inference/beam_search.py, inference/dvts.py), run
on the round's problems with round index-1's model, at the round's temperature, top_p and token limit,
seeded from the round's sampling seed (`sample`/round/0: what plain sampling uses). Its finished
solutions become `sampling.n` ordinary Sample records per problem in rounds/NNN/samples.jsonl, so scoring,
selection, DPO pairs, step labels, verifiers and metrics read them as they read samples:

- `beam_search` grows N = sampling.n beams (about N solutions, sometimes a few more as the width shrinks):
  the N best by aggregate step score are kept (ties: the earliest finished);
- `dvts` grows sampling.n x beam_width first steps in sampling.n subtrees: one solution each.

Each record's `params` name the strategy, the step scorer and the round whose PRM it read, the search
options, the beam and its step scores; `stats` carry `search_score` (the aggregate step score) and
`path_tokens` (the solution's own tokens). `n_tokens` charges every token the search generated for the
problem, pruned branches and dropped solutions included, split evenly over its n attempts, so
`rollout/tokens` is the round's whole generation cost (the step scorer's reading is in
`params.scored_tokens`, not counted). Step scorer `learned_prm` reads the PRM of the newest earlier round
that trained one (verifier.kinds [prm]); before any exists (round 1) the round scores steps with
`step_logprob` and says so on the console and in every record (`step_scorer`, `prm_round: null`).
samples.jsonl is the step's finished marker: a rerun reads it back and does not search again.
"""

from __future__ import annotations

from typing import Any

from ..core.config import Config
from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from ..inference import STRATEGIES, build_strategy, strategy_run
from ..inference.base import Context, StrategyResult
from ..inference.step_search import SearchConfig
from ..models.backends import generator_source
from ..tasks.steps import step_separator
from ..tasks.verdicts import resolve_max_new_tokens
from .context import RoundContext, RoundSettings

__all__ = ["check_search", "search_and_score", "search_config", "search_rollouts"]

LOCAL_BACKENDS = ("openai", "vllm")  # backends whose model is not in this process (step_logprob cannot read it)


def search_config(cfg: Config, temperature: float, max_new_tokens: int) -> SearchConfig:
    """The validated config of sampling.strategy for a round: sampling.search, with n (sampling.n; x beam_width
    for dvts), temperature, top_p and max_new_tokens from sampling. A ConfigError names the sampling keys."""
    s, name = cfg.sampling, cfg.sampling.strategy
    width = s.search.get("beam_width", STRATEGIES.get(name)[0].model_fields["beam_width"].default)
    n = s.n * width if name == "dvts" and isinstance(width, int) and width > 0 else s.n
    if name == "beam_search" and isinstance(width, int) and width > 0 and (width > n or n % width):
        raise ConfigError(f"sampling.strategy beam_search grows sampling.n ({n}) beams, beam_width children from each "
                          f"kept beam: sampling.n must be a multiple of sampling.search.beam_width ({width}), at least "
                          "as large (e.g. sampling.n 4 with beam_width 2, or beam_width 1).")
    try:
        return build_strategy(name, {**s.search, "n": n, "temperature": temperature, "top_p": s.top_p,
                                     "max_new_tokens": max_new_tokens})
    except ConfigError as e:
        raise ConfigError(f"sampling.search (the options of sampling.strategy {name}; n, temperature, top_p and "
                          f"max_new_tokens come from sampling.*): {e}") from None


def check_search(cfg: Config, task: Any) -> None:
    """Before a model loads: a ConfigError naming the key when sampling.strategy cannot run here (a backend
    whose model is not in this process, a task whose answers newline steps would cut, bad search options)."""
    name = cfg.sampling.strategy
    if name == "sample":
        return
    if cfg.backend in LOCAL_BACKENDS:
        raise ConfigError(f"sampling.strategy {name} scores steps with the policy model's own log-probs "
                          f"(step_logprob, also learned_prm's scorer before a PRM exists), which backend {cfg.backend} "
                          "does not hold in this process: use backend hf or fast, or sampling.strategy sample.")
    problems = task.problems("train", min(cfg.task.n_train, 64), cfg.seed)
    if step_separator(task) == "\n" and any("\n" in (p.answer or "") for p in problems):
        raise ConfigError(f"sampling.strategy {name} grows solutions a line (step) at a time, but task "
                          f"`{getattr(task, 'name', type(task).__name__)}` has answers over several lines, which "
                          "newline steps would cut apart: give the task a `step_separator` attribute (e.g. a blank "
                          "line), or use sampling.strategy sample.")
    search_config(cfg, max(cfg.sampling.temperature, 1e-6), resolve_max_new_tokens(cfg.sampling.max_new_tokens, task))


def search_and_score(ctx: RoundContext, index: int, problems: list[Problem], settings: RoundSettings
                     ) -> tuple[list[Problem], list[Sample], list[Score], float]:
    """sample_and_score under a search strategy: the search's attempts in samples.jsonl (read back when there),
    scored into scores.jsonl; (problems, samples, scores, seconds)."""
    params = ctx.params(settings.temperature, ctx.seed("sample", index))
    samples, scores, seconds = ctx.generate_step(
        index - 1, index, problems, params, ctx.cfg.sampling.n, "samples", "search",
        make=lambda: search_rollouts(ctx, index, problems, settings.temperature),
        limit_key="sampling.max_new_tokens or sampling.search.max_step_tokens / max_steps")
    return problems, samples, scores, seconds


def search_rollouts(ctx: RoundContext, index: int, problems: list[Problem], temperature: float) -> list[Sample]:
    """sampling.n search solutions per problem from round index-1's model, flat in problem order."""
    s = ctx.cfg.sampling
    cfg = search_config(ctx.cfg, temperature, resolve_max_new_tokens(s.max_new_tokens, ctx.task))
    options, prm_round = step_scorer_for(ctx, index, cfg)
    generator = ctx.state.generator(index - 1, s.batch_size, s.matmul_dtype)
    ctx.source = generator_source(generator)
    seed = ctx.seed("sample", index)
    note = f" from round {prm_round}" if prm_round is not None else ""
    ctx.console.print(f"sampling: {len(problems)} problems x {s.n} by {s.strategy} (T={temperature:g}, step scorer "
                      f"{cfg.prm}{note})")
    results = strategy_run(s.strategy)(cfg, Context(ctx.task, generator, seed=seed, scorer_options=options), problems)
    record = {"strategy": s.strategy, "temperature": temperature, "top_p": s.top_p,
              "max_new_tokens": cfg.max_new_tokens, "seed": seed, "step_scorer": cfg.prm, "prm_round": prm_round,
              **{k: getattr(cfg, k) for k in ("aggregate", "beam_width", "max_steps", "max_step_tokens")}}
    return [x for p, r in zip(problems, results) for x in attempts(p, r, s.n, record)]


def step_scorer_for(ctx: RoundContext, index: int, cfg: SearchConfig) -> tuple[dict[str, Any], int | None]:
    """(scorer options, the round whose PRM scores steps) for `cfg.prm`; `learned_prm` with no PRM trained
    before round `index` is replaced by `step_logprob` in `cfg`, with a console line saying so."""
    from ..train.verifier import is_trained

    if cfg.prm != "learned_prm":
        return {}, None
    for j in range(index - 1, 0, -1):
        folder = ctx.run.path(j, "prm")
        if is_trained(folder):
            return {"prm_path": str(folder)}, j
    ctx.console.print(f"[yellow]search: no PRM trained before round {index} yet: its steps are scored with "
                      "step_logprob (the policy's own step probabilities) instead of learned_prm[/]")
    cfg.prm = "step_logprob"
    return {}, None


def attempts(problem: Problem, result: StrategyResult, n: int, record: dict[str, Any]) -> list[Sample]:
    """The `n` best finished solutions of one problem's search (ties: the earliest), in the order they
    finished, as Sample records; the search's generated tokens are split evenly over them."""
    done = [e for e in result.trace if e.get("step") == "sample"]
    if len(done) < n:
        raise RuntimeError(f"search {record['strategy']} finished {len(done)} solutions of problem {problem.id}, "
                           f"fewer than sampling.n ({n}).")
    keep = sorted(sorted(range(len(done)), key=lambda i: (-done[i]["value"], i))[:n])
    share, extra = divmod(result.tokens, n)
    out = []
    for j, i in enumerate(keep):
        e = done[i]
        params = {**record, "beam": e["id"], "finish": e["finish_reason"], "step_scores": list(e["scores"]),
                  "chosen": bool(e["chosen"]), "search_tokens": result.tokens,
                  "scored_tokens": result.extra.get("scored_tokens")}
        out.append(Sample(problem.id, e["text"], n_tokens=share + (j < extra), params=params, index=j,
                          finish_reason="length" if e["finish_reason"] in ("length", "max_steps") else "stop",
                          stats={"search_score": float(e["value"]), "path_tokens": float(e["path_tokens"])}))
    return out
