"""Self-rewarding pairs (select.rule judge, train.method dpo): the policy judges its own candidates.

Round r's starting model (the policy that sampled the candidates) writes `judge.m` rationale-then-
verdict judgments of each candidate (scoring/rationale_judge.py), saved in rounds/NNN/judgments.jsonl
(read back on a resume). A candidate counts as correct when the share of its parsed judgments saying
`correct` is at least `judge.threshold` (one with no parsed judgment is never chosen: it counts as
incorrect); the DPO pairs are built from these verdicts, with no gold
answer (a candidate with no single finished answer keeps its own verdict, as under rule `majority`).

The judge's verdicts are compared with the task's verifier (never used to choose) and logged every
round: `select/judge_accuracy` (over candidates with a parsed judgment), `select/judge_auroc`,
`select/judge_parse_failure_rate`, `select/judge_judgments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.records import NO_ANSWER, Problem, Sample, Score
from ..metrics.exploit import auroc
from ..scoring.rationale_judge import RationaleJudge, verdict_score
from .context import RoundContext


def judgments_of(ctx: RoundContext, index: int, model_round: int, problems: Sequence[Problem],
                 samples: Sequence[Sample], name: str = "judgments.jsonl") -> list[list[dict[str, Any]]]:
    """Per sample, `judge.m` judgments by `model_round`'s model, from rounds/index/name when it is there."""
    if ctx.run.has(index, name):
        rows = {r["sample_id"]: r["judgments"] for r in ctx.run.read_records(index, name)}
        if all(s.id in rows for s in samples):
            return [rows[s.id] for s in samples]
    j = ctx.cfg.judge
    generator = ctx.state.generator(model_round, ctx.cfg.sampling.batch_size)
    judge = RationaleJudge(generator, m=j.m, temperature=j.temperature, max_new_tokens=j.max_new_tokens,
                           seed=ctx.seed("judge", index))
    by_id = {p.id: p for p in problems}
    ctx.console.print(f"judging: {len(samples)} answers x {j.m} (T={j.temperature:g})")
    found = judge.judge([by_id[s.problem_id] for s in samples], list(samples))
    ctx.run.write_records(index, name, [{"sample_id": s.id, "judgments": f} for s, f in zip(samples, found)])
    return found


def judge_quality(scores: Sequence[Score], judged: Sequence[list[dict[str, Any]]], threshold: float) -> dict[str, Any]:
    """The judge against the verifier: accuracy (answers with a parsed judgment), AUROC, parse failures.

    >>> sc = [Score("a", "1", "correct", 1.0), Score("b", "2", "incorrect", 0.0)]
    >>> js = [[{"verdict": "correct"}], [{"verdict": None}, {"verdict": "correct"}]]
    >>> q = judge_quality(sc, js, 0.5)
    >>> q["judge_accuracy"], q["judge_parse_failure_rate"], q["judge_auroc"]
    (0.5, 0.3333333333333333, 0.5)
    """
    values = [verdict_score([j["verdict"] for j in js]) for js in judged]
    truth = [sc.verdict == "correct" for sc in scores]
    parsed = [i for i, js in enumerate(judged) if any(j["verdict"] is not None for j in js)]
    n = sum(len(js) for js in judged)
    failures = sum(j["verdict"] is None for js in judged for j in js)
    hits = [(values[i] >= threshold) == truth[i] for i in parsed]
    return {"judge_accuracy": sum(hits) / len(hits) if hits else None, "judge_auroc": auroc(values, truth),
            "judge_parse_failure_rate": failures / n if n else None, "judge_judgments": n}


def judge_verdicts(ctx: RoundContext, index: int, problems: Sequence[Problem], samples: Sequence[Sample],
                   scores: Sequence[Score]) -> tuple[list[Score], dict[str, Any]]:
    """(scores with the policy's own verdicts, source `judge`; the judge's quality metrics) for round `index`."""
    judged = judgments_of(ctx, index, index - 1, problems, samples)
    threshold = ctx.cfg.judge.threshold
    out = []
    for sc, js in zip(scores, judged):
        value = verdict_score([j["verdict"] for j in js])
        judged_ok = any(j["verdict"] is not None for j in js) and value >= threshold
        verdict = sc.verdict if sc.verdict in NO_ANSWER else ("correct" if judged_ok else "incorrect")
        out.append(Score(sc.sample_id, sc.extracted, verdict, value, "judge"))
    return out, judge_quality(scores, judged, threshold)
