"""Answer collapse: does the model answer the same thing to every problem, and does that explain its accuracy?

A loop optimises its verifier's reward. On a task where one answer is the gold answer of many problems
(letter_counting: "1"; gcd: "1"), a model that learns to give that one answer to every problem scores
well while reasoning about none of them, and per-problem diversity (`distinct_answers`) cannot see it.
So these metrics look *across* problems:

    answer_entropy    entropy (bits) of the distribution of parsed answers over all problems
    top_answer        the most common parsed answer (a representative of its equivalence group)
    top_answer_share  the share of samples (unparsed included in the denominator) giving it
    const_gold_acc    accuracy of always giving the most common *gold* answer, with a Wilson 95%
                      interval (`_low`, `_high`)
    const_model_acc   accuracy of always giving the model's own top answer, with its interval
    collapse          True when the model's accuracy is no better than the best constant baseline
                      (at most the top of its interval; only when that baseline is right at least
                      once), or when one answer takes more than half of the samples and is given
                      more often than it is the gold answer (above `const_model_acc_high`; a task
                      whose gold answers are mostly one value is not collapse when the model is right)

Answers are grouped with the project's one answer-equivalence (`scoring.equivalence`): its `normalize`,
plain numbers by value, then the other groups' representatives with `group_answers` (`answer_counts`). Gold answers
are compared the same way, which for reasoning-gym tasks approximates the task's own scorer.
"""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from ..scoring.equivalence import equivalent, group_answers, normalize
from .stats import wilson_interval

TOP_SHARE_LIMIT = 0.5  # one answer given to more than this share of the samples is collapse
MATH_MERGE_LIMIT = 64  # most distinct non-numeric answers compared pairwise with math-verify


def answer_counts(answers: Sequence[str | None]) -> list[tuple[str, int]]:
    """(representative, count) per equivalence group of the parsed answers, most common first.

    Ties keep first-seen order. `None` (unparsed) is left out. Plain numbers are grouped by value
    (`1`, `1.0`, ` 1 `); other answers with `group_answers` when at most `MATH_MERGE_LIMIT` distinct
    ones remain (pairwise math-verify is ~0.1 ms a pair: 500 distinct numbers would take seconds), else
    by their normalised text. A non-numeric answer is not merged with a plain number here
    (`\\\\frac{1}{2}` and `0.5` count as two answers), which does not change what collapse sees.

    >>> answer_counts(["1", "2", "1.0", None, " 1 ", "2", "3", "1/2", "\\\\frac{1}{2}"])
    [('1', 3), ('2', 2), ('1/2', 2), ('3', 1)]
    """
    counts: Counter[Any] = Counter()
    first: dict[Any, str] = {}
    for a in answers:
        if a is None:
            continue
        key = answer_key(a)
        counts[key] += 1
        first.setdefault(key, a.strip())
    keys = list(first)  # first-seen order
    merged = {k: (first[k], counts[k]) for k in keys}
    words = [k for k in keys if isinstance(k, str)]
    if 1 < len(words) <= MATH_MERGE_LIMIT:
        for g in group_answers([first[k] for k in words]):
            head = words[g.members[0]]
            merged[head] = (first[head], sum(counts[words[i]] for i in g.members))
            for i in g.members[1:]:
                merged.pop(words[i])
    order = {k: i for i, k in enumerate(keys)}
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][1], order[kv[0]]))
    return [(rep, n) for _, (rep, n) in ranked]


def answer_key(answer: str) -> Any:
    """The key answers are counted under: a plain number's value, else the normalised text.

    >>> answer_key(" 1.0 ") == answer_key("1"), answer_key("Paris") == answer_key("paris")
    (True, True)
    """
    return _number(normalize(answer))


def _number(key: str) -> Any:
    """A plain finite number's value (`Decimal`, so `1` and `1.0` are one key), else the text itself."""
    try:
        value = Decimal(key)
    except InvalidOperation:
        return key
    return value if value.is_finite() else key


def entropy_bits(counts: Sequence[int]) -> float:
    """Shannon entropy in bits of a distribution given by counts (0.0 when empty or one value).

    >>> entropy_bits([1, 1]), entropy_bits([4]), entropy_bits([])
    (1.0, 0.0, 0.0)
    """
    total = sum(counts)
    if total <= 0:
        return 0.0
    h = -sum(c / total * math.log2(c / total) for c in counts if c > 0)
    return h + 0.0  # no -0.0


def constant_accuracy(answer: str | None, golds: Sequence[str]) -> tuple[int, int]:
    """(right, n): how many of the gold answers `answer` equals under the answer-equivalence.

    >>> constant_accuracy("1", ["1", "2", "1.0", "one"])
    (2, 4)
    """
    if answer is None:
        return 0, len(golds)
    return sum(equivalent(answer, g) for g in golds), len(golds)


def collapse_metrics(answers: Sequence[str | None], golds: Sequence[str | None], accuracy: float,
                     n_total: int | None = None) -> dict[str, Any]:
    """The keys of the module docstring (no prefix) for parsed `answers` and the problems' `golds`.

    `answers`: one per sample (None for unparsed), over all problems; `golds`: one per problem (None for
    an unlabelled problem, left out of the baselines); `accuracy`: the model's accuracy to compare, over
    the same problems; `n_total`: the denominator of the top answer's share (default: len(answers)).

    >>> m = collapse_metrics(["1"] * 4, ["1", "1", "1", "2"], accuracy=0.75)
    >>> m["top_answer"], m["top_answer_share"], m["const_gold_acc"], m["const_model_acc"], m["collapse"]
    ('1', 1.0, 0.75, 0.75, True)
    >>> collapse_metrics(["1", "2", "3", "4"], ["1", "2", "3", "4"], accuracy=1.0)["collapse"]
    False
    """
    counts = answer_counts(answers)
    n = len(answers) if n_total is None else n_total
    top, top_n = counts[0] if counts else (None, 0)
    labelled = [g for g in golds if g is not None]
    gold_counts = answer_counts(labelled)
    out: dict[str, Any] = {
        "answer_entropy": entropy_bits([c for _, c in counts]),
        "top_answer": top,
        "top_answer_share": top_n / n if n else 0.0,
    }
    baselines = {"const_gold": gold_counts[0][0] if gold_counts else None, "const_model": top}
    best: tuple[int, float] = (0, 0.0)  # (right, interval top) of the best constant baseline
    for name, constant in baselines.items():
        if not labelled:
            out.update({f"{name}_acc": None, f"{name}_acc_low": None, f"{name}_acc_high": None})
            continue
        right, total = constant_accuracy(constant, labelled)
        low, high = wilson_interval(right, total)
        out.update({f"{name}_acc": right / total, f"{name}_acc_low": low, f"{name}_acc_high": high})
        best = max(best, (right, high))
    no_better = best[0] > 0 and accuracy <= best[1]
    # One answer to over half the problems, and more often than it is the gold answer (beyond its interval):
    # where the gold answers themselves are mostly one value, a model that answers each problem right does too.
    gold_share = out["const_model_acc_high"]
    dominant = out["top_answer_share"] > max(TOP_SHARE_LIMIT, gold_share if gold_share is not None else 0.0)
    out["collapse"] = bool(no_better or dominant)
    return out


def collapse_message(metrics: dict[str, Any], prefix: str = "eval/") -> str | None:
    """A one-line warning when `metrics` flag collapse under `prefix`, else None.

    >>> m = {"eval/accuracy": 0.6, "eval/collapse": True, "eval/top_answer": "1", "eval/top_answer_share": 1.0,
    ...      "eval/const_gold_acc": 0.6, "eval/const_gold_acc_high": 0.71, "eval/const_model_acc": 0.6}
    >>> print(collapse_message(m).replace("; ", ";\\n"))
    answer collapse (held-out): "1" is 100.0% of the answers;
    accuracy 60.0% is no better than a constant answer (most common gold answer 60.0%, the model's top answer 60.0%).
    >>> collapse_message({"eval/collapse": False}) is None
    True
    """
    if not metrics.get(f"{prefix}collapse"):
        return None
    label = {"eval/": "held-out", "rollout/": "training samples"}.get(prefix, prefix.rstrip("/"))
    share = metrics.get(f"{prefix}top_answer_share") or 0.0
    parts = [f'"{metrics.get(f"{prefix}top_answer")}" is {100 * share:.1f}% of the answers']
    acc_key = "accuracy" if prefix == "eval/" else "pass@1"
    acc, gold, model = (metrics.get(f"{prefix}{k}") for k in (acc_key, "const_gold_acc", "const_model_acc"))
    if acc is not None and gold is not None and model is not None:
        verdict = "is no better than a constant answer" if _no_better(metrics, prefix, acc) else "vs constant answers"
        parts.append(f"accuracy {100 * acc:.1f}% {verdict} (most common gold answer "
                     f"{100 * gold:.1f}%, the model's top answer {100 * model:.1f}%)")
    return f"answer collapse ({label}): " + "; ".join(parts) + "."


def _no_better(metrics: dict[str, Any], prefix: str, acc: float) -> bool:
    highs = [metrics.get(f"{prefix}{k}_acc_high") for k in ("const_gold", "const_model")]
    return any(h is not None and acc <= h for h in highs)


def collapse_warning(metrics: dict[str, Any]) -> str | None:
    """The console warning after a round's evaluation: one line per flagged answer set, or None.

    >>> print(collapse_warning({"eval/collapse": True, "eval/top_answer": "3", "eval/top_answer_share": 0.9,
    ...                         "rollout/collapse": False}))
    warning: answer collapse (held-out): "3" is 90.0% of the answers.
    """
    lines = [msg for prefix in ("rollout/", "eval/") if (msg := collapse_message(metrics, prefix))]
    return "\n".join(f"warning: {line}" for line in lines) or None
