"""The step-label stage of a round: Monte-Carlo step labels of the round's own attempts, the data the
process reward model (`verifier.kinds: [prm]`, loop/verifier.py) trains on right after.

    rounds/NNN/step_labels.jsonl   one record per labelled attempt, as `selftaught label-steps` writes it

It runs when `verifier.step_labels` asks (`auto`: when a PRM is trained). Up to `verifier.label_samples`
attempts with at least one step are drawn (seed `steps`/round/0), half correct and half not where the
round has both; `scoring.mc_labels.mc_step_labels` then samples `verifier.label_k` continuations of each
step's prefix (`verifier.label_search` all | binary) with the model that sampled the round, at the round's
sampling temperature (bstar's chosen one under `loop.kind: bstar`; seed `steps`/round/1). Where the task has an exact per-step truth (chain_sum,
basic_arithmetic), the records carry it and the metrics compare the labels with it. The stage is finished
when step_labels.jsonl exists: a rerun reads it back instead of sampling again.
"""

from __future__ import annotations

import random
import time
from typing import Any

from ..core.config import Config
from ..core.errors import ConfigError, SelftaughtError
from ..core.records import Problem, Sample, Score
from ..metrics.step_labels import label_truth_agreement
from ..scoring.mc_labels import MCSettings, check_step_labels, mc_step_labels
from ..tasks.step_truth import step_truth_for
from ..tasks.steps import split_steps, step_separator
from .context import RoundContext, RoundSettings

__all__ = ["STEP_LABELS", "check_step_label_task", "prm_records", "step_labels_stage", "wants_step_labels"]

STEP_LABELS = "step_labels.jsonl"  # the round's file; the PRM (loop/verifier.py) trains on it


def wants_step_labels(cfg: Config) -> bool:
    """Whether the loop labels steps: `verifier.step_labels` always, or auto with a PRM in verifier.kinds."""
    mode = cfg.verifier.step_labels
    return mode == "always" or (mode == "auto" and "prm" in cfg.verifier.kinds)


def check_step_label_task(cfg: Config, task: Any) -> None:
    """A ConfigError naming the key, before a model loads, when the loop would label steps of a task whose
    problems cannot have them (no gold answers, or answers over several lines with newline steps)."""
    if not wants_step_labels(cfg):
        return
    key = ("verifier.step_labels: always" if cfg.verifier.step_labels == "always"
           else "verifier.kinds: [prm] (with verifier.step_labels: auto)")
    try:
        check_step_labels(task, task.problems("train", min(cfg.task.n_train, 64), cfg.seed))
    except SelftaughtError as e:
        raise ConfigError(f"{key} labels the steps of each round's attempts by Monte-Carlo continuations, but {e} "
                          "Or set verifier.step_labels: never (a PRM then trains only on a step_labels.jsonl "
                          "placed in the round by hand).") from None


def step_labels_stage(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                      scores: list[Score], settings: RoundSettings | None = None) -> dict[str, Any]:
    """Label (unless step_labels.jsonl is there) and return the `steps/` metrics and `time/step_labels`."""
    if not wants_step_labels(ctx.cfg):
        return {}
    start = time.time()
    if ctx.run.has(index, STEP_LABELS):
        records = ctx.run.read_records(index, STEP_LABELS)
    else:
        records = label_round(ctx, index, problems, samples, scores, settings or ctx.default_settings())
        ctx.run.write_records(index, STEP_LABELS, records)
    return {**{f"steps/{k}": v for k, v in label_metrics(records).items()},
            "time/step_labels": round(time.time() - start, 2)}


def label_round(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                scores: list[Score], settings: RoundSettings) -> list[dict[str, Any]]:
    """The step-label records of a balanced draw of round `index`'s attempts (see the module docstring)."""
    vc, task = ctx.cfg.verifier, ctx.task
    by_id = {p.id: p for p in problems}
    sep = step_separator(task)
    usable = [(s, sc.verdict == "correct") for s, sc in zip(samples, scores)
              if s.problem_id in by_id and by_id[s.problem_id].answer is not None and split_steps(s.text, sep)]
    chosen = balanced_draw(usable, vc.label_samples, ctx.seed("steps", index))
    if not chosen:
        return []
    params = ctx.params(settings.temperature, ctx.seed("steps", index, 1))
    settings = MCSettings(k=vc.label_k, temperature=params.temperature, top_p=params.top_p,
                          max_new_tokens=params.max_new_tokens, seed=params.seed, search=vc.label_search)
    section = ctx.cfg.sampling
    generator = ctx.state.generator(index - 1, section.batch_size, section.matmul_dtype)  # the round's sampler
    ctx.console.print(f"step labels: {len(chosen)} attempts, k={vc.label_k} continuations per step "
                      f"({vc.label_search})")
    used = [by_id[pid] for pid in dict.fromkeys(s.problem_id for s in chosen)]
    return mc_step_labels(generator, task, used, chosen, settings,
                          truth=step_truth_for(task) is not None)


def balanced_draw(attempts: list[tuple[Sample, bool]], most: int, seed: int) -> list[Sample]:
    """Up to `most` of the (sample, correct) attempts, half correct and half not where both sides have enough
    (a short side's shortfall taken from the other), drawn with `seed`, kept in the attempts' order.

    >>> xs = [(Sample("p", str(i), 1, index=i), i < 6) for i in range(8)]
    >>> sorted(int(s.text) < 6 for s in balanced_draw(xs, 4, seed=0))
    [False, False, True, True]
    >>> len(balanced_draw(xs, 20, seed=0))
    8
    """
    rng = random.Random(seed)
    right = [i for i, (_, ok) in enumerate(attempts) if ok]
    wrong = [i for i, (_, ok) in enumerate(attempts) if not ok]
    rng.shuffle(right)
    rng.shuffle(wrong)
    n_right = min(len(right), max(most // 2, most - len(wrong)))
    n_wrong = min(len(wrong), most - n_right)
    return [attempts[i][0] for i in sorted(right[:n_right] + wrong[:n_wrong])]


def label_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Labelled attempts (and how many correct), steps, the share of steps labelled right, the tokens the
    continuations generated, and, where the records carry an exact truth, the labels' agreement with it
    (`metrics.step_labels.label_truth_agreement`)."""
    labels = [bool(x) for r in records for x in r["labels"]]
    return {"attempts": len(records), "attempts_correct": sum(r.get("verdict") == "correct" for r in records),
            "steps": len(labels), "correct_share": sum(labels) / len(labels) if labels else None,
            "tokens": sum(int(r.get("mc_tokens") or 0) for r in records),
            **label_truth_agreement(records)}


def prm_records(records: list[dict[str, Any]], labels: str) -> list[dict[str, Any]]:
    """The PRM's training records under `verifier.prm_labels`: as they are (`hard`), or with `labels` replaced by
    the soft labels (`soft`; a step without one, not probed by the binary search, keeps its hard label).

    >>> prm_records([{"labels": [True, False], "soft_labels": [None, 0.0]}, {"labels": [1]}], "soft")
    [{'labels': [True, 0.0], 'soft_labels': [None, 0.0]}, {'labels': [1]}]
    """
    if labels == "hard":
        return records
    return [{**r, "labels": [h if s is None else s for h, s in zip(r["labels"], r.get("soft_labels") or r["labels"])]}
            for r in records]
