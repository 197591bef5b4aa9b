"""The synthesis stage: the failure memory, then training problems made near the failing ones (SwS).

Called by the round loop after the training attempts are scored and before selection:

    problems, samples, scores, synth = synthesis_stage(ctx, index, problems, samples, scores, settings)

With `synthesis.enabled` and `synthesis.memory` off it returns its inputs unchanged. Otherwise:

1. memory (curriculum/failures.py): round index's accuracy of every training problem is folded into the
   previous round's memory -> rounds/NNN/failures.jsonl, copied to RUN/failures.jsonl (the latest);
2. candidates (with `synthesis.enabled`): a budget of `n_problems` shared among arms in proportion to their
   failure rates, made near the failing problems by each source's generator (curriculum/synth.py) or, for
   sources without one, by the teacher (curriculum/teacher.py; its variants and votes in
   synth_teacher.jsonl) -> synth_candidates.jsonl;
3. the same model as the round's attempts samples each candidate `k` times (synth_samples/scores.jsonl);
   candidates solved in a share inside `band` are kept, at most the arm's budget -> synth.jsonl; they and
   their samples join the round's problems for selection and training (the `rollout/` metrics stay on the
   round's own problems; `synth/` metrics describe this stage).

Every file is written atomically and read back on a rerun, so a run killed during synthesis makes the same
problems when resumed. Seeds: `ctx.seed("synth", index, k)` with k = 0 sampling, 1 teacher writing,
2 teacher solving, 3 + i the i-th arm's generator (its j-th failing problem: that seed + j).
"""

from __future__ import annotations

import time
from typing import Any

from ..core.errors import ConfigError
from ..core.io import write_jsonl
from ..core.records import Problem, Sample, Score, from_dict
from ..curriculum.failures import FailureMemory, accuracies
from ..curriculum.synth import in_band, near_generator, plan_candidates, task_sources
from .context import RoundContext, RoundSettings

MASK32 = 0xFFFFFFFF


def check_synthesis(cfg: Any, task: Any) -> None:
    """Refuse `synthesis.enabled` on a task none of whose sources can make problems (before a model loads)."""
    syn = cfg.synthesis
    if not syn.enabled or syn.teacher.enabled:
        return
    if any(near_generator(s, {"task": getattr(s, "name", None)}) for s in task_sources(task)):
        return
    raise ConfigError(
        f"synthesis.enabled: task `{getattr(task, 'name', task)}` has no problem generator (reasoning-gym tasks have "
        "one; a user task may define `near(problem, n, seed) -> list[Problem]`). Set synthesis.teacher.enabled and "
        "synthesis.teacher.model to have a teacher model write variants, or turn synthesis off.")


def synthesis_stage(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                    scores: list[Score], settings: RoundSettings):
    """(problems, samples, scores, synth/* metrics): the round's data plus the kept synthesised problems."""
    syn, start = ctx.cfg.synthesis, time.time()
    if not (syn.enabled or syn.memory):
        return problems, samples, scores, {}
    memory = memory_step(ctx, index, problems, samples, scores)
    ids = [p.id for p in problems]
    failing = memory.failing(ids)
    metrics: dict[str, Any] = {"failing": len(failing), "failure_rate": round(len(failing) / max(1, len(ids)), 6)}
    if not syn.enabled:
        return problems, samples, scores, metrics
    budgets, plan = plan_candidates(memory, ids, syn.n_problems, syn.candidates)
    candidates = candidates_step(ctx, index, plan)
    params = ctx.params(settings.temperature, ctx.seed("synth", index, 0))
    k = syn.k or settings.n
    c_samples, c_scores, seconds = ctx.generate_step(index - 1, index, candidates, params, k, "synth",
                                                     "synthesis") if candidates else ([], [], 0.0)
    kept = _keep(candidates, c_samples, c_scores, budgets, syn.band)
    ctx.run.write_records(index, "synth.jsonl", kept)
    ids_kept = {p.id for p in kept}
    pairs = [(x, s) for x, s in zip(c_samples, c_scores) if x.problem_id in ids_kept]
    metrics.update({"candidates": len(candidates), "kept": len(kept), "time": seconds,
                    "overhead_s": round(time.time() - start - seconds, 3),  # all but sampling the candidates
                    "kept_share": round(len(kept) / len(candidates), 6) if candidates else 0.0,
                    **{f"budget/{arm}": b for arm, b in budgets.items()}})
    return problems + kept, samples + [x for x, _ in pairs], scores + [s for _, s in pairs], metrics


def memory_step(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                scores: list[Score]) -> FailureMemory:
    """The memory after round `index` (rounds/NNN/failures.jsonl, read back when there; else the last
    earlier round's memory plus this round), also written to RUN/failures.jsonl."""
    fail_below = ctx.cfg.synthesis.fail_below
    if ctx.run.has(index, "failures.jsonl"):
        memory = FailureMemory(ctx.run.read_records(index, "failures.jsonl"), fail_below)
    else:
        earlier = next((i for i in range(index - 1, 0, -1) if ctx.run.has(i, "failures.jsonl")), None)
        memory = FailureMemory(ctx.run.read_records(earlier, "failures.jsonl") if earlier else [], fail_below)
        memory.update(index, problems, samples, scores, ctx.task.name)
        ctx.run.write_records(index, "failures.jsonl", memory.to_rows())
    write_jsonl(ctx.run.root / "failures.jsonl", memory.to_rows())
    return memory


def candidates_step(ctx: RoundContext, index: int, plan: list[tuple[dict[str, Any], int]]) -> list[Problem]:
    """The candidate problems of round `index` (synth_candidates.jsonl, read back when there)."""
    if ctx.run.has(index, "synth_candidates.jsonl"):
        return [from_dict(Problem, d) for d in ctx.run.read_records(index, "synth_candidates.jsonl")]
    arms = sorted({row["arm"] for row, _ in plan})
    made: list[Problem] = []
    for_teacher: list[tuple[dict[str, Any], int]] = []
    for j, (row, count) in enumerate(plan):
        near = near_generator(ctx.task, row["meta"])
        if near is None:
            for_teacher.append((row, count))
            continue
        seed = (ctx.seed("synth", index, 3 + arms.index(row["arm"]) % 253) + j) & MASK32
        source = Problem(row["id"], "", row.get("answer"), row["meta"])
        made += [_with_arm(p, row["arm"]) for p in near(source, count, seed)]
    if for_teacher and ctx.cfg.synthesis.teacher.enabled:
        made += _teacher_step(ctx, index, for_teacher)
    elif for_teacher:
        ctx.console.print(f"[yellow]synthesis: {len(for_teacher)} failing problems come from sources without a "
                          "generator; set synthesis.teacher to make variants of them.[/]")
    ctx.run.write_records(index, "synth_candidates.jsonl", made)
    return made


def _teacher_step(ctx: RoundContext, index: int, rows: list[tuple[dict[str, Any], int]]) -> list[Problem]:
    """Teacher variants (synth_teacher.jsonl: every variant with its votes), kept ones as problems."""
    from ..curriculum.teacher import teacher_variants, variant_problems
    from ..models.openai_backend import OpenAIGenerator
    from ..scoring.equivalence import answer_mode

    if ctx.run.has(index, "synth_teacher.jsonl"):
        variants = ctx.run.read_records(index, "synth_teacher.jsonl")
    else:
        t = ctx.cfg.synthesis.teacher
        teacher = OpenAIGenerator(t.base_urls, t.model, api_key_env=t.api_key_env, timeout=t.timeout_s,
                                  logprobs=False, prompt_format="chat")
        seeds = (ctx.seed("synth", index, 1), ctx.seed("synth", index, 2))
        variants = teacher_variants(teacher, rows, t, answer_mode(ctx.task), seeds)
        held_out = {str((p.meta or {}).get("question")) for p in ctx.eval_problems}
        for v in variants:  # a variant that is a held-out question is never trained on
            if v["kept"] and v["question"] in held_out:
                v.update(kept=False, reason="held-out question")
        ctx.run.write_records(index, "synth_teacher.jsonl", variants)
    sources = {getattr(s, "name", None): s for s in reversed(task_sources(ctx.task))}
    out = []
    for row, _ in rows:
        mine = [v for v in variants if v["from"] == row["id"]]
        out += variant_problems(sources.get(row["task"], ctx.task), mine, f"t{index}")
    return out


def _with_arm(problem: Problem, arm: str) -> Problem:
    problem.meta = {**problem.meta, "arm": arm}
    return problem


def _keep(candidates: list[Problem], samples: list[Sample], scores: list[Score], budgets: dict[str, int],
          band: list[float]) -> list[Problem]:
    """Candidates in the band, in order, at most each arm's budget; each records its share."""
    counts = accuracies(samples, scores)
    used: dict[str, int] = {}
    kept = []
    for p in candidates:
        correct, n = counts.get(p.id, (0, 0))
        arm = p.meta["arm"]
        if in_band(correct, n, band) and used.get(arm, 0) < budgets.get(arm, 0):
            used[arm] = used.get(arm, 0) + 1
            p.meta = {**p.meta, "synth": {**p.meta.get("synth", {}), "share": round(correct / n, 6)}}
            kept.append(p)
    return kept
