"""Self-rationalization: a judge improves by DPO on its own judgments (`selftaught judge-train`).

The judge starts as the run's model. Round 0 measures it; each round r >= 1:

1. the policy (the run's model, unchanged) answers `judge.n_answers` training problems at
   sampling.temperature (answers_samples.jsonl / answers_scores.jsonl: the verifier's truth); with
   `judge.balanced` (the default) sampling.n times each, keeping at most one right and one wrong answer
   per problem, so a mostly-wrong policy still shows the judge right answers;
2. round r-1's judge writes `judge.m` rationale-then-verdict judgments of each (judgments.jsonl);
3. judgments agreeing with the verifier are preferred over those that do not or give no verdict
   (judge_pairs.jsonl, select/judgments.py), and round r-1's judge is DPO-trained on them with the
   train.* settings (learning_rate, epochs, batch_size, dpo.beta): rounds/NNN/checkpoint;
4. round r's judge judges the held-out answers (policy answers to `judge.n_eval_answers` eval problems,
   chosen as in 1., the same answers every round: rounds/000/eval_answers_*.jsonl) `judge.m` times:
   `judge/auroc`, `judge/accuracy`, `judge/parse_failure_rate` against the verifier.

Everything lives under RUN_DIR/judge/ with the loop's layout (rounds/NNN/, metrics.jsonl,
config.yaml): a rerun skips finished rounds and steps, `loop.keep_checkpoints: last` keeps only the
newest judge checkpoint, and judge.rounds may grow on a resume like loop.rounds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.io import write_json
from ..core.records import Problem
from ..scoring.rationale_judge import judge_messages
from ..select.judgments import balance_by_truth, build_judgment_pairs
from ..tasks.formats import plain_record
from .context import RoundContext
from .rundir import RunDir
from .self_reward import judge_quality, judgments_of
from .state import ModelState


def run_judge_training(cfg: Config, run_dir: str | Path, fresh: bool = False,
                       console: Console | None = None) -> list[dict[str, Any]]:
    """Run (or resume) judge.rounds of self-rationalization under run_dir/judge; every round's metrics."""
    from ..tasks import build_task

    console = console or Console()
    run = RunDir(Path(run_dir) / "judge")
    task = build_task(cfg.task)
    state = ModelState(cfg, run, console, task=task)  # round 0 = the run's model; round r = judge r
    run.prepare(cfg, fresh)
    ctx = RoundContext(cfg, run, console, task, state)
    done = run.finished_rounds()
    eval_problems = task.problems("eval", cfg.judge.n_eval_answers, cfg.seed)
    for index in range(cfg.judge.rounds + 1):
        if index in done:
            continue
        console.rule(f"judge round {index}")
        start = time.time()
        metrics: dict[str, Any] = {"round": index}
        if index > 0:
            metrics.update(train_round(ctx, index))
        samples, scores = answers(ctx, 0, eval_problems, "eval_answers", 3)
        judged = judgments_of(ctx, index, index, eval_problems, samples, "eval_judgments.jsonl")
        quality = judge_quality(scores, judged, cfg.judge.threshold)
        metrics.update({f"judge/{k.removeprefix('judge_')}": v for k, v in quality.items()})
        metrics["judge/eval_answers"] = len(samples)
        metrics["judge/eval_answers_correct"] = sum(sc.verdict == "correct" for sc in scores)
        metrics["time/round"] = round(time.time() - start, 2)
        metrics["checkpoint"] = state.checkpoint_of(index)
        run.write_metrics(index, metrics)
        if cfg.loop.keep_checkpoints == "last" and index > 0:
            run.prune_checkpoints(keep=index)
    return run.all_metrics()


def answers(ctx: RoundContext, index: int, problems: list[Problem], stem: str, k: int):
    """Policy answers (the run's model, sampling.temperature), saved as rounds/index/stem_*: with
    judge.balanced, sampling.n per problem of which the first right and the first wrong are kept;
    else one per problem. Returns (samples, their verifier scores)."""
    balanced = ctx.cfg.judge.balanced
    params = ctx.params(ctx.cfg.sampling.temperature, ctx.seed("judge", index, k))
    n = ctx.cfg.sampling.n if balanced else 1
    samples, scores, _ = ctx.generate_step(0, index, problems, params, n, stem, "policy answers")
    if not balanced:
        return samples, scores
    kept, seen = [], set()
    for sample, score in zip(samples, scores):
        key = (sample.problem_id, score.verdict == "correct")
        if key not in seen:
            seen.add(key)
            kept.append((sample, score))
    return [s for s, _ in kept], [sc for _, sc in kept]


def train_round(ctx: RoundContext, index: int) -> dict[str, Any]:
    """Judge, pair and DPO-train round index-1's judge into round index's checkpoint; judge/* and train/*."""
    cfg, run = ctx.cfg, ctx.run
    problems = ctx.task.problems("train", cfg.judge.n_answers, cfg.seed + index)
    samples, scores = answers(ctx, index, problems, "answers", 2)
    judged = judgments_of(ctx, index, index - 1, problems, samples)
    if run.has(index, "judge_pairs.jsonl"):
        pairs = run.read_records(index, "judge_pairs.jsonl")
    else:
        pairs = build_judgment_pairs(problems, samples, scores, judged, lambda p, s: judge_messages(p, s.text),
                                     cfg.judge.pairs_per_answer, seed=ctx.seed("judge", index, 4))
        if cfg.judge.balance_verdicts:
            pairs = balance_by_truth(pairs, seed=ctx.seed("judge", index, 6))
        run.write_records(index, "judge_pairs.jsonl", pairs)
    verdicts = [(j["verdict"], sc.verdict == "correct") for js, sc in zip(judged, scores) for j in js]
    agree = sum(v == ("correct" if t else "incorrect") for v, t in verdicts)
    metrics = {"judge/train_answers": len(samples), "judge/train_agreement": agree / len(verdicts) if verdicts else None,
               "judge/pairs": len(pairs)}
    metrics.update(train_judge(ctx, index, pairs))
    return metrics


def train_judge(ctx: RoundContext, index: int, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """DPO on the judgment pairs (the judge carried over unchanged when there are none); train.json."""
    import json

    from ..core.seeds import seed_for
    from ..train import save_model
    from ..train.dpo import train_dpo

    run, state = ctx.run, ctx.state
    log_path = run.path(index, "train.json")
    if run.checkpoint(index).exists() and log_path.exists():
        return json.loads(log_path.read_text())
    state.ensure(index - 1)
    if not pairs:
        ctx.console.print("[yellow]no judgment pairs this round: the judge is carried over unchanged[/]")
        save_model(state.model, state.tokenizer, run.checkpoint(index))
        metrics: dict[str, Any] = {"train/steps": 0}
    else:
        if state.prompt_format == "plain":
            pairs = [plain_record(p) for p in pairs]
        ctx.console.print(f"training the judge (dpo): {len(pairs)} pairs, {ctx.cfg.train.epochs:g} epochs")
        state.model, result = train_dpo(state.model, state.tokenizer, pairs, ctx.cfg.train, state.device,
                                        seed_for(ctx.cfg.seed, "judge", index, 5), save_dir=run.checkpoint(index))
        metrics = result.metrics()
    state.holds = index
    write_json(log_path, metrics)
    return metrics

