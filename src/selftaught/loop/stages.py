"""The round's stages that sample, score and select, each writing its file into rounds/NNN/.

Each takes the round's `RoundContext` (loop/context.py); loop/rounds.py calls them in order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.records import Problem, Sample, SamplingParams, Score
from ..metrics import eval_metrics, round_metrics
from ..metrics.arms import arm_metrics
from ..select import question_only, selection_metrics, to_sft_record
from ..tasks.verdicts import resolve_max_new_tokens
from ..select.balance import cap_records
from .context import RoundContext, RoundSettings
from .rationalize import rationalize
from .search_rollouts import search_and_score
from .train_data import grpo_step, pairs_step


def prefixed(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def sample_and_score(ctx: RoundContext, index: int, problems: list[Problem], settings: RoundSettings):
    """(problems, samples, scores, seconds): training attempts with round index-1's model and their verdicts
    (samples/scores.jsonl). Under sampling.token_budget the problems are the ones sampled before the budget
    ran out (read back from samples.jsonl on a resume)."""
    if ctx.cfg.sampling.strategy != "sample":  # search outputs as the attempts (loop/search_rollouts.py)
        return search_and_score(ctx, index, problems, settings)
    params = ctx.params(settings.temperature, ctx.seed("sample", index))
    budget = ctx.cfg.sampling.token_budget
    samples, scores, seconds = ctx.generate_step(index - 1, index, problems, params, ctx.cfg.sampling.n, "samples",
                                                 "sampling", budget=budget)
    if budget is not None:
        sampled = {s.problem_id for s in samples}
        problems = [p for p in problems if p.id in sampled]
        by_id = {p.id: i for i, p in enumerate(problems)}
        order = sorted(range(len(samples)), key=lambda i: (by_id[samples[i].problem_id], samples[i].index))
        samples, scores = [samples[i] for i in order], [scores[i] for i in order]
    return problems, samples, scores, seconds


def curriculum_step(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                    scores: list[Score]) -> dict[str, Any]:
    """The training samples' accuracy per arm (`rollout/arm/...`) and the curriculum's update
    (`curriculum/...`; its state into curriculum.json)."""
    return {**prefixed("rollout", arm_metrics(problems, samples, scores)),
            **prefixed("curriculum", ctx.update_curriculum(index, problems, samples, scores))}


def evaluate(ctx: RoundContext, index: int) -> dict[str, Any]:
    """Greedy accuracy of round index's model on the held-out problems (eval_samples/scores.jsonl)."""
    params = SamplingParams(0.0, 1.0, resolve_max_new_tokens(ctx.cfg.eval.max_new_tokens, ctx.task),
                            seed=ctx.seed("eval", index))
    samples, scores, seconds = ctx.generate_step(index, index, ctx.eval_problems, params, 1, "eval", "held-out eval")
    return {**eval_metrics(ctx.eval_problems, samples, scores), "time/eval": seconds}


def probe(ctx: RoundContext, index: int) -> dict[str, Any]:
    """pass@k and diversity of round index's model on a fixed held-out subset, at a fixed temperature.

    The seed is the same every round (common random numbers: rounds differ by their model only).
    """
    problems = ctx.eval_problems[: ctx.cfg.probe.n_problems]
    params = ctx.params(ctx.cfg.sampling.temperature, ctx.seed("probe", 0))
    samples, scores, seconds = ctx.generate_step(index, index, problems, params, ctx.cfg.sampling.n, "probe", "probe")
    return {**prefixed("probe", round_metrics(problems, samples, scores, ks=ctx.ks)), "time/probe": seconds}


def training_data(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                  scores: list[Score], settings: RoundSettings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(records the trainer reads, select/* metrics): selected samples, DPO pairs or GRPO problems."""
    from ..train.round import trainer_spec

    kind = trainer_spec(ctx.cfg.train.method).records  # what the trainer trains on
    if kind == "pairs":
        return pairs_step(ctx, index, problems, samples, scores, settings)
    if kind == "problems":
        return grpo_step(ctx, index, problems, samples, scores)
    records = select_step(ctx, index, problems, samples, scores, settings)
    return records, selection_metrics(problems, samples, scores, records, n_star=ctx.cfg.select.n_star)


def select_step(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                scores: list[Score], settings: RoundSettings) -> list[dict[str, Any]]:
    """Training records (selected.jsonl): the rule's choice, plus STaR rationales if asked."""
    if ctx.run.has(index, "selected.jsonl"):
        return ctx.run.read_records(index, "selected.jsonl")
    sel = ctx.cfg.select
    chosen = ctx.choose(problems, samples, scores, settings, index)
    if sel.rationalize:
        chosen += rationalize(ctx, index, problems, samples, scores, settings)
    chosen = cap_records(chosen, sel.max_records, ctx.seed("select", index, 2))
    if sel.strip_few_shot:  # STaR: fine-tune on question -> rationale, no worked examples
        chosen = [replace(c, prompt=question_only(c.prompt)) for c in chosen]
    fmt = ctx.state.prompt_format  # plain (a base model): prompt/completion text, as it was sampled
    records = [dict(to_sft_record(c, fmt), problem_id=c.problem_id, sample_id=c.sample_id, rule=c.rule,
                    **_pseudo_label(c)) for c in chosen]
    ctx.run.write_records(index, "selected.jsonl", records)
    return records


def _pseudo_label(chosen) -> dict[str, Any]:
    """A pseudo-label's answer and whether it is right (rule `majority`, problems with a gold answer), kept in
    selected.jsonl for select/label_accuracy; nothing for rules that keep verified samples."""
    if "label_correct" not in chosen.meta:
        return {}
    return {"label": chosen.label, "label_correct": chosen.meta["label_correct"]}
