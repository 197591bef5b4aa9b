"""How well Monte-Carlo step labels agree with the exact per-step truth (records of `step_labels.jsonl`
made with `search="all"` and a truth, see `scoring.mc_labels`).

For each k up to the k the records were made with, the labels are recomputed from the first k
continuations of each prefix (`mc_correct[i][:k]`: the same draws as a run with that k, so the k rows
are nested, not independent): hard-label accuracy against the truth, the share of truly wrong steps
labelled wrong and of truly right steps labelled right, the soft labels' AUROC against the truth, and
where the first error lands, from the first hard-False step and from a binary search over the same
values (`tasks.steps.first_error_search`, incorrect solutions only, as `search="binary"` runs it):
exactly at the true first error, earlier, or later (a later or missing one lets a wrong step pass).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..tasks.steps import first_error_search
from .exploit import auroc

__all__ = ["step_label_agreement", "first_error_places", "label_truth_agreement"]


def first_error_places(found: Sequence[int | None], truth: Sequence[int | None]) -> dict[str, float]:
    """Shares of solutions whose found first error is exact, early or late (None: no error).

    >>> first_error_places([1, None, 3, 0], [1, None, None, 2])
    {'exact': 0.5, 'early': 0.5, 'late': 0.0}
    """
    n = max(len(found), 1)
    exact = sum(f == t for f, t in zip(found, truth))
    early = sum(f is not None and (t is None or f < t) for f, t in zip(found, truth))
    late = sum(t is not None and (f is None or f > t) for f, t in zip(found, truth))
    return {"exact": exact / n, "early": early / n, "late": late / n}


def _binary_first(record: dict[str, Any], k: int) -> int | None:
    if record["verdict"] == "correct":
        return None
    rows = record["mc_correct"]
    return first_error_search([len(rows)], lambda pairs: [float(any(rows[i][:k])) for _, i in pairs])[0]


def _at_k(records: list[dict[str, Any]], k: int) -> dict[str, Any]:
    hard, soft, truth = [], [], []
    first_mc, first_bin, first_true = [], [], []
    for r in records:
        rows = [row[:k] for row in r["mc_correct"]]
        labels = [any(row) for row in rows]
        hard += labels
        soft += [sum(row) / len(row) for row in rows]
        truth += r["truth"]
        first_mc.append(next((i for i, x in enumerate(labels) if not x), None))
        first_bin.append(_binary_first(r, k))
        first_true.append(r["truth_first_error"])
    wrong = [h for h, t in zip(hard, truth) if not t]
    right = [h for h, t in zip(hard, truth) if t]
    out = {"k": k, "hard_accuracy": sum(h == t for h, t in zip(hard, truth)) / max(len(truth), 1),
           "wrong_caught": (sum(not h for h in wrong) / len(wrong)) if wrong else None,
           "right_kept": (sum(right) / len(right)) if right else None, "soft_auroc": auroc(soft, truth)}
    out.update({f"first_mc_{key}": v for key, v in first_error_places(first_mc, first_true).items()})
    out.update({f"first_binary_{key}": v for key, v in first_error_places(first_bin, first_true).items()})
    return out


def step_label_agreement(records: list[dict[str, Any]], ks: Sequence[int] | None = None) -> dict[str, Any]:
    """Agreement with the truth for each k in `ks` (default: powers of two up to the records' k, and k).

    Records without a truth or made by the binary search are left out and counted.
    """
    usable = [r for r in records if r.get("truth") is not None and r.get("search") == "all"]
    k_max = min((r["k"] for r in usable), default=0)
    if ks is None:
        ks = sorted({2 ** e for e in range(k_max.bit_length()) if 2 ** e <= k_max} | ({k_max} if k_max else set()))
    steps = [t for r in usable for t in r["truth"]]
    return {"solutions": len(usable), "left_out": len(records) - len(usable), "steps": len(steps),
            "steps_truly_wrong": sum(not t for t in steps),
            "solutions_with_error": sum(r["truth_first_error"] is not None for r in usable),
            "solutions_correct": sum(r["verdict"] == "correct" for r in usable),
            "by_k": [_at_k(usable, k) for k in ks if 1 <= k <= k_max]}


def label_truth_agreement(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The records' hard labels against their exact truth, over the labelled steps of records that have one
    (either search: a binary-search record is compared up to its found first error): `truth_agreement`
    (share of steps whose label is the truth), `wrong_caught` (share of truly wrong steps labelled wrong),
    `first_error_exact` (share of records whose first hard-False step is the true first error). Empty
    without a truth; the per-k table of `search="all"` records is `step_label_agreement`.

    >>> label_truth_agreement([{"labels": [True, False], "truth": [True, True, False], "first_error": 1,
    ...                         "truth_first_error": 2}])
    {'truth_steps': 2, 'truth_agreement': 0.5, 'wrong_caught': None, 'first_error_exact': 0.0}
    """
    usable = [r for r in records if r.get("truth") is not None]
    if not usable:
        return {}
    pairs = [(bool(x), bool(t)) for r in usable for x, t in zip(r["labels"], r["truth"])]
    wrong = [x for x, t in pairs if not t]
    return {"truth_steps": len(pairs),
            "truth_agreement": sum(x == t for x, t in pairs) / len(pairs) if pairs else None,
            "wrong_caught": sum(not x for x in wrong) / len(wrong) if wrong else None,
            "first_error_exact": sum(r["first_error"] == r["truth_first_error"] for r in usable) / len(usable)}
