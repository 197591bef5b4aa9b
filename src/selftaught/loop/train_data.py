"""What a round trains on under `train.method: dpo` and `grpo` (sft uses the selection rule directly).

- dpo: preference pairs of the round's samples (pairs.jsonl: prompt / chosen / rejected plus the
  ids and `kind`). With rule `correct` the verifier decides chosen vs rejected; with rule `majority` the
  pseudo-label does (label-free): samples agreeing with their problem's majority answer are
  "correct"; with rule `judge` the policy's own judge does (self-rewarding, loop/self_reward.py).
  Problems with no pair (all right, all wrong, or one distinct answer) are counted.
  `select.pairs: correction | both` adds (or only uses) self-correction pairs: revisions of a wrong
  attempt, a correct one preferred (loop/correction.py), counted as correction_pairs with the
  revisions' wrong -> correct rate (revision_w2c).
- grpo: the round's training problems (train_problems.jsonl); GRPO samples and rewards them itself.
  The round's samples.jsonl still comes from the loop's normal sampling step with the round's
  starting model, so rollout/* metrics mean the same thing for every method; GRPO's own rollouts
  are summarised under train/* (reward, reward_std, frac_reward_zero_std, ...).

`pseudo_label_scores` gives the majority-vote verdicts and `label_accuracy`: how often the
pseudo-label equals the truth, over problems that have a gold answer and a label.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..core.records import NO_ANSWER, Problem, Sample, Score, to_dict
from ..select import build_pairs, select, selection_metrics
from ..tasks.formats import plain_record
from .context import RoundContext, RoundSettings
from .correction import Revisions, revise
from .self_reward import judge_verdicts


def pseudo_label_scores(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                        min_share: float = 0.0, equivalence: str = "auto") -> tuple[list[Score], dict[str, Any]]:
    """(scores with majority-vote verdicts, {"label_accuracy", "labelled"}) for a round's samples."""
    kept = select("majority", problems, samples, scores, min_share=min_share, dedupe=False, equivalence=equivalence)
    agree = {k.sample_id for k in kept}
    label_ok = {k.problem_id: k.meta.get("label_correct") for k in kept}
    pseudo = [Score(sc.sample_id, sc.extracted,
                    sc.verdict if sc.verdict in NO_ANSWER else ("correct" if sc.sample_id in agree else "incorrect"),
                    float(sc.sample_id in agree), "majority") for sc in scores]
    known = [ok for ok in label_ok.values() if ok is not None]
    return pseudo, {"label_accuracy": sum(known) / len(known) if known else None, "labelled": len(label_ok)}


def pairs_step(ctx: RoundContext, index: int, problems, samples, scores,
               settings: RoundSettings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """pairs.jsonl for round `index` (unless there) and select/* metrics (unprefixed keys).

    `select.pairs` picks the kinds (each pair's `kind`): `answer` pairs of the round's samples,
    `correction` pairs of revisions of a wrong attempt (loop/correction.py), or both.
    """
    sel = ctx.cfg.select
    verdicts, label = scores, {}
    if sel.rule == "majority":
        verdicts, label = pseudo_label_scores(problems, samples, scores, sel.min_share, ctx.cfg.task.answer_match)
    elif sel.rule == "judge":  # self-rewarding: the policy's own verdicts (loop/self_reward.py)
        verdicts, label = judge_verdicts(ctx, index, problems, samples, scores)
    revisions = revise(ctx, index, problems, samples, scores, settings) if sel.pairs != "answer" else None
    if ctx.run.has(index, "pairs.jsonl"):
        pairs = ctx.run.read_records(index, "pairs.jsonl")
    else:
        pairs = new_pairs(ctx, index, problems, samples, verdicts, revisions)
        ctx.run.write_records(index, "pairs.jsonl", pairs)
    chosen = [{"sample_id": p["chosen_id"]} for p in pairs if p.get("kind", "answer") == "answer"]
    metrics: dict[str, Any] = {}  # correction pairs alone choose none of the round's samples: no kept/precision
    if sel.pairs != "correction":
        metrics = selection_metrics(problems, samples, scores, chosen, n_star=ctx.cfg.select.n_star)
    sampled = {s.problem_id for s in samples}
    metrics.update(label)
    metrics.update(pairs=len(pairs), problems_without_pair=len(sampled - {p["problem_id"] for p in pairs}))
    if revisions is not None:
        fixes = [p for p in pairs if p.get("kind") == "correction"]
        metrics.update(answer_pairs=len(pairs) - len(fixes), correction_pairs=len(fixes),
                       correction_pairs_restated=sum(p["rejected_id"] == p["revised_id"] for p in fixes),
                       **revisions.metrics())
    return pairs, metrics


def new_pairs(ctx: RoundContext, index: int, problems, samples, verdicts,
              revisions: Revisions | None) -> list[dict[str, Any]]:
    """The round's pairs of the kinds select.pairs asks for, each with its `kind`."""
    sel, seed = ctx.cfg.select, ctx.seed("pairs", index)
    pairs = []
    if sel.pairs != "correction":
        pairs += [dict(p, kind="answer") for p in build_pairs(problems, samples, verdicts, sel.pairs_per_problem,
                                                              seed=seed, dedupe=sel.dedupe, with_ids=True)]
    if revisions is not None:
        pairs += revisions.pairs(sel.pairs_per_problem, seed, sel.dedupe)
    if ctx.state.prompt_format == "plain":  # the text a base model is prompted with, as it is trained on
        pairs = [plain_record(p) for p in pairs]
    return pairs


def grpo_step(ctx: RoundContext, index: int, problems, samples,
              scores) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """train_problems.jsonl for round `index` (unless there) and select/* metrics (unprefixed keys)."""
    if not ctx.run.has(index, "train_problems.jsonl"):
        ctx.run.write_records(index, "train_problems.jsonl", [to_dict(p) for p in problems])
    records = ctx.run.read_records(index, "train_problems.jsonl")
    metrics: dict[str, Any] = {"problems": len(records)}
    if ctx.cfg.train.grpo.reward == "majority" or ctx.cfg.select.rule == "majority":
        metrics.update(pseudo_label_scores(problems, samples, scores, ctx.cfg.select.min_share,
                                           ctx.cfg.task.answer_match)[1])
    return records, metrics
