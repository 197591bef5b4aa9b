"""The verifier stage of a round: train the learned verifiers `verifier.kinds` asks for, score the round's
attempts with them, and log how well they tell right from wrong.

    rounds/NNN/verifier/               the outcome verifier trained on round NNN's attempts (data: round)
    rounds/001/verifier/               ... or once, on a labelled pool (data: pool; verifier_pool_*.jsonl)
    rounds/NNN/prm/                    the PRM trained on round NNN's step_labels.jsonl (loop/step_labels.py)
    rounds/NNN/verifier_scores.jsonl   per sample: `verifier`, `prm`, `prm_min` (as written into Sample.stats)
    rounds/NNN/verifier_metrics.json   the stage's metrics

Round r's attempts are scored by the newest verifier trained BEFORE them (round r-1's, or the pool's),
so the logged AUROC is out of sample; where none exists yet (round 1, data: round) by round r's own,
which is flagged `verifier/<kind>_in_sample`. Each verifier folder is finished when its verifier.json
exists, and the stage is finished when verifier_scores.jsonl exists: a rerun after kill -9 skips both.
The scores reach selection through `Sample.stats` (rule `threshold` with select.score `verifier` /
`prm`, rule `prm_filter`), and the AUROC / ECE against the task's verdicts go under `exploit/`.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from ..core.io import write_json
from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..metrics.calibration import expected_calibration_error
from ..metrics.exploit import auroc
from .context import RoundContext
from .step_labels import STEP_LABELS, prm_records

KIND_DIRS = {"outcome": "verifier", "prm": "prm"}
STAT_OF = {"outcome": "verifier", "prm": "prm"}
SCORES_FILE, METRICS_FILE = "verifier_scores.jsonl", "verifier_metrics.json"


def verifier_stage(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                   scores: list[Score]) -> dict[str, Any]:
    """Train (unless saved), score the round's samples (stats written in place), return the metrics."""
    kinds = ctx.cfg.verifier.kinds
    if not kinds:
        return {}
    if ctx.run.has(index, SCORES_FILE) and ctx.run.has(index, METRICS_FILE):
        values = {r["sample_id"]: r for r in ctx.run.read_records(index, SCORES_FILE)}
        metrics = json.loads(ctx.run.path(index, METRICS_FILE).read_text())
    else:
        metrics, values = {}, {s.id: {"sample_id": s.id} for s in samples}
        for k, kind in enumerate(kinds):
            metrics.update(train_kind(ctx, index, kind, k, problems, samples, scores))
            metrics.update(score_kind(ctx, index, kind, problems, samples, values))
        metrics.update(truth_metrics(samples, scores, values, kinds))
        ctx.run.write_records(index, SCORES_FILE, list(values.values()))
        write_json(ctx.run.path(index, METRICS_FILE), metrics)
    for s in samples:
        s.stats.update({k: v for k, v in values.get(s.id, {}).items() if k != "sample_id"})
    return metrics


def folder_of(ctx: RoundContext, index: int, kind: str):
    """Where round `index`'s verifier of `kind` is saved (the pool's lives in round 1)."""
    if kind == "outcome" and ctx.cfg.verifier.data == "pool":
        return ctx.run.path(1, KIND_DIRS[kind])
    return ctx.run.path(index, KIND_DIRS[kind])


def train_kind(ctx: RoundContext, index: int, kind: str, k: int, problems: list[Problem], samples: list[Sample],
               scores: list[Score]) -> dict[str, Any]:
    """Train round `index`'s verifier of `kind` unless it is saved; its training metrics."""
    from ..tasks.steps import step_separator
    from ..train.prm import VerifierTrainConfig
    from ..train.verifier import is_trained, outcome_records, read_verifier, train_verifier

    vc, folder = ctx.cfg.verifier, folder_of(ctx, index, kind)
    if not is_trained(folder):
        if kind == "prm":
            records = ctx.run.read_records(index, STEP_LABELS) if ctx.run.has(index, STEP_LABELS) else []
            records = prm_records(records, vc.prm_labels)
        elif vc.data == "pool":
            records = outcome_records(*pool_attempts(ctx))
        else:
            records = outcome_records(problems, samples, scores)
        if not records:
            return {f"verifier/{kind}_records": 0}
        cfg = VerifierTrainConfig(vc.epochs, vc.learning_rate, vc.batch_size, vc.max_length,
                                  freeze_embeddings=vc.freeze_embeddings)
        ctx.console.print(f"verifier: training the {kind} verifier on {len(records)} records")
        train_verifier(vc.model or ctx.state.base_path, records, kind, folder, cfg, separator=step_separator(ctx.task),
                       seed=ctx.seed("verifier", index, k), device=ctx.state.device)
    meta = read_verifier(folder, kind)
    return {f"verifier/{kind}_{key.removeprefix('train/')}": v for key, v in meta["metrics"].items()
            if key in ("train/loss", "train/loss_first", "train/tokens_per_s", "train/seconds", "records")}


def pool_attempts(ctx: RoundContext) -> tuple[list[Problem], list[Sample], list[Score]]:
    """The labelled pool (data: pool): `pool_size` training problems x sampling.n attempts of the base model."""
    problems = ctx.task.problems("train", ctx.cfg.verifier.pool_size, ctx.seed("verifier", 0))
    params = ctx.params(ctx.cfg.sampling.temperature, ctx.seed("verifier", 0, 1))
    samples, scores, _ = ctx.generate_step(0, 1, problems, params, ctx.cfg.sampling.n, "verifier_pool", "verifier pool")
    return problems, samples, scores


def scorer_round(ctx: RoundContext, index: int, kind: str) -> int | None:
    """The round whose verifier of `kind` scores round `index`: the newest finished one before it, else its own."""
    from ..train.verifier import is_trained

    if kind == "outcome" and ctx.cfg.verifier.data == "pool":
        return 1 if is_trained(folder_of(ctx, 1, kind)) else None
    for j in [*range(index - 1, 0, -1), index]:
        if is_trained(ctx.run.path(j, KIND_DIRS[kind])):
            return j
    return None


def score_kind(ctx: RoundContext, index: int, kind: str, problems: list[Problem], samples: list[Sample],
               values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Score every sample with the chosen verifier of `kind`; fills `values` (sample id -> stats)."""
    from ..scoring.learned import LearnedVerifier, aggregate

    j = scorer_round(ctx, index, kind)
    if j is None:
        return {f"verifier/{kind}_round": None}
    vc = ctx.cfg.verifier
    verifier = LearnedVerifier(folder_of(ctx, j, kind), aggregation=vc.aggregation, kind=kind,
                               device=ctx.state.device, max_length=vc.max_length)
    by_id = {p.id: p for p in problems}
    flat_p = [by_id[s.problem_id] for s in samples]
    steps = verifier.step_scores(flat_p, [verifier.steps_of(s) for s in samples])
    for s, row in zip(samples, steps):
        values[s.id][STAT_OF[kind]] = aggregate(row, "last" if kind == "outcome" else vc.aggregation)
        if kind == "prm":
            values[s.id]["prm_min"] = aggregate(row, "min")
    return {f"verifier/{kind}_round": j, f"verifier/{kind}_in_sample": j == index and vc.data == "round"}


def truth_metrics(samples: list[Sample], scores: list[Score], values: dict[str, dict[str, Any]],
                  kinds: list[str]) -> dict[str, Any]:
    """AUROC and ECE of each verifier's score against the task's verdicts, over the parsed samples."""
    out: dict[str, Any] = {}
    for kind in kinds:
        stat = STAT_OF[kind]
        pairs = [(values[s.id][stat], sc.correct) for s, sc in zip(samples, scores)
                 if sc.verdict not in NO_ANSWER and stat in values[s.id]]
        out[f"exploit/auroc_{stat}"] = auroc([v for v, _ in pairs], [t for _, t in pairs]) if pairs else None
        out[f"exploit/ece_{stat}"] = (round(expected_calibration_error([v for v, _ in pairs], [t for _, t in pairs]), 4)
                                      if pairs else None)
    return out


def prune_verifiers(ctx: RoundContext) -> None:
    """keep_checkpoints last: delete every round's verifier / PRM folder but the newest of each kind."""
    for name in KIND_DIRS.values():
        folders = sorted((ctx.run.root / "rounds").glob(f"*/{name}"))
        for old in folders[:-1]:
            shutil.rmtree(old)
