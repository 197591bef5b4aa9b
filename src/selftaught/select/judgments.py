"""Self-rationalization pairs, and the selection rule `judge` (self-rewarding).

`build_judgment_pairs`: a judge sampled m rationale-then-verdict judgments of each answer; those
whose verdict agrees with the task's verifier are preferred (chosen) over those that disagree or
state no verdict (rejected), as DPO records `prompt` (the judge's prompt) / `chosen` / `rejected`
(self-rationalization, Trivedi et al. 2024). An answer whose m judgments all agree, or all disagree,
gives no pair.

Rule `judge`: keep the samples the policy's own judge called correct (`Score.source == "judge"`).
The loop supplies those verdicts under train.method dpo (loop/self_reward.py): the policy judges its
own candidates and the pairs are built from its verdicts with no gold answer (self-rewarding LMs,
Yuan et al. 2024).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import DataError
from ..core.records import Problem, Sample, Score
from .common import SELECTION_RULES, Selector, check_common, finish
from .pairs import spread_pairs
from .records import Selected


def build_judgment_pairs(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                         judgments: Sequence[Sequence[dict[str, Any]]],
                         messages: Callable[[Problem, Sample], list[dict[str, str]]],
                         pairs_per_answer: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """DPO pairs of judgments: per answer, a judgment agreeing with the verifier vs one that does not.

    `problems` holds each sample's problem (matched by id); `judgments[i]` are the judgments (`{"text",
    "verdict"}`, verdict `correct` / `incorrect` / None) of `samples[i]`, whose verifier verdict is `scores[i]`; `messages(problem, sample)` is the judge's prompt.
    Each record has `prompt` / `chosen` / `rejected` plus `problem_id`, `sample_id`, `truth`.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> p, s = Problem("a", "2+2?", "4"), Sample("a", "Answer: 5", 1)
    >>> js = [[{"text": "ok. Verdict: correct", "verdict": "correct"},
    ...        {"text": "2+2=4. Verdict: incorrect", "verdict": "incorrect"}]]
    >>> pair = build_judgment_pairs([p], [s], [Score("a#0", "5", "incorrect", 0.0)], js,
    ...                             lambda p, s: [{"role": "user", "content": s.text}])[0]
    >>> pair["chosen"][0]["content"], pair["rejected"][0]["content"]
    ('2+2=4. Verdict: incorrect', 'ok. Verdict: correct')
    """
    if not (len(samples) == len(scores) == len(judgments)):
        raise DataError(f"build_judgment_pairs: {len(samples)} samples, {len(scores)} scores and "
                        f"{len(judgments)} judgment lists must be as many.")
    by_id = {p.id: p for p in problems}
    if missing := sorted({s.problem_id for s in samples} - set(by_id)):
        raise DataError(f"build_judgment_pairs: no problem given for sample(s) of {', '.join(missing[:3])}.")
    out = []
    for sample, score, found in zip(samples, scores, judgments):
        truth = "correct" if score.verdict == "correct" else "incorrect"
        good = _distinct([j["text"] for j in found if j["verdict"] == truth])
        bad = _distinct([j["text"] for j in found if j["verdict"] != truth])
        rng = random.Random(f"{seed}:{sample.id}")
        for i, k in spread_pairs(len(good), len(bad), pairs_per_answer, rng):
            out.append({"prompt": messages(by_id[sample.problem_id], sample),
                        "chosen": [{"role": "assistant", "content": good[i]}],
                        "rejected": [{"role": "assistant", "content": bad[k]}],
                        "problem_id": sample.problem_id, "sample_id": sample.id, "truth": truth})
    return out


def balance_by_truth(pairs: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """As many pairs with truth `correct` (the chosen judgment says correct) as with truth `incorrect`: a seeded
    subset of the larger side, the pairs' order kept. No pairs on one side leaves none on the other.

    >>> ps = [{"truth": t, "i": i} for i, t in enumerate(["incorrect"] * 4 + ["correct"])]
    >>> [p["truth"] for p in balance_by_truth(ps)]
    ['incorrect', 'correct']
    """
    sides = {t: [i for i, p in enumerate(pairs) if p["truth"] == t] for t in ("correct", "incorrect")}
    keep = min(len(v) for v in sides.values())
    rng = random.Random(seed)
    chosen = {i for v in sides.values() for i in rng.sample(v, keep)}
    return [p for i, p in enumerate(pairs) if i in chosen]


def _distinct(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t.strip()))


def make_judged(dedupe: bool = True, max_per_problem: int | None = None, seed: int = 0) -> Selector:
    """Keep the samples a judge called correct (scores from the judge: `Score.source == "judge"`)."""
    check_common(dedupe, max_per_problem)

    def judged(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score]) -> list[Selected]:
        if scores and not all(sc.source == "judge" for sc in scores):
            raise DataError("select.rule judge keeps the samples the policy's judge called correct, but these "
                            "scores come from the verifier; the loop gives it the judge's verdicts under "
                            "train.method dpo (self-rewarding pairs).")
        by_id = {p.id: p for p in problems}
        kept: dict[str, list[Selected]] = {}
        for s, sc in zip(samples, scores):
            if sc.verdict == "correct":
                kept.setdefault(s.problem_id, []).append(
                    Selected(s.problem_id, s.id, by_id[s.problem_id].prompt, s.text, rule="judge", label_source="judge", score=sc.reward))
        return [x for group in kept.values() for x in finish(group, dedupe, max_per_problem, seed)]

    return judged


SELECTION_RULES.register("judge", make_judged)
