"""`selection_metrics`: how good a round's selection was, measured against the verifier's verdicts.

Keys (put them under "select/" in a round's metrics):

    kept            samples kept
    problems        problems with at least one kept sample
    coverage        that, as a fraction of the problems that have samples
    precision       fraction of kept samples that are correct
    recall          fraction of correct samples that were kept (dedupe and caps lower it)
    f1              their harmonic mean
    balance         B-STaR balance score of the selection (see metrics.exploit.balance_score)
    label_accuracy  for pseudo-labels (rule `majority`): fraction of kept problems whose label is right
    top_answer_share  share of the kept samples (with a parsed answer) that give the most common answer:
                    near 1 the round trains on one answer (answer collapse; select.max_answer_share caps it)

Precision, recall, F1 and balance use only problems with a gold answer (`Problem.answer`) and
assume the scores' verdicts come from a verifier against it; they are None when there are none.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from ..core.records import Problem, Sample, Score
from ..metrics.collapse import answer_key
from ..metrics.exploit import balance_counts, balance_score, precision_recall_f1
from ..metrics.grouping import group_by_problem
from .records import Selected

SelectedLike = Union[Selected, Mapping[str, Any]]  # a Selected, or a record read from selected.jsonl


def selection_metrics(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                      selected: Iterable[SelectedLike], n_star: int = 4) -> dict[str, Any]:
    """Quality of a selection of the round's samples (see the module docstring for the keys).

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> ps = [Problem("a", "q", "1")]
    >>> ss = [Sample("a", t, 1, index=i) for i, t in enumerate(["1", "2", "one"])]
    >>> sc = [Score("a#0", "1", "correct", 1), Score("a#1", "2", "incorrect", 0),
    ...       Score("a#2", "1", "correct", 1)]
    >>> m = selection_metrics(ps, ss, sc, [{"sample_id": "a#0"}, {"sample_id": "a#1"}])
    >>> m["precision"], m["recall"], m["balance"]  # balance: min(1/4, 1) * 1/2
    (0.5, 0.5, 0.125)
    """
    selected = list(selected)
    kept_ids = {_field(s, "sample_id") for s in selected}
    groups = [g for g in group_by_problem(problems, samples, scores) if g.n]
    labelled = [g for g in groups if g.problem.answer is not None]
    flags = [s.id in kept_ids for g in labelled for s in g.samples]
    truth = [ok for g in labelled for ok in g.correct]
    prf = precision_recall_f1(flags, truth)
    problem_of = {s.id: s.problem_id for g in groups for s in g.samples}
    kept_problems = {problem_of[i] for i in kept_ids if i in problem_of}
    label_by_problem = {problem_of.get(_field(s, "sample_id")): ok for s in selected
                        if (ok := _label_correct(s)) is not None}
    return {
        "kept": len(selected),
        "problems": len(kept_problems),
        "coverage": len(kept_problems) / len(groups) if groups else None,
        "precision": prf["precision"],
        "recall": prf["recall"],
        "f1": prf["f1"],
        "balance": balance_score([balance_counts([s.text for s in g.samples],
                                                 [s.id in kept_ids for s in g.samples], g.correct)
                                  for g in labelled], n_star) if labelled else None,
        "label_accuracy": float(np.mean(list(label_by_problem.values()))) if label_by_problem else None,
        "top_answer_share": _top_share([sc.extracted for sc in scores if sc.sample_id in kept_ids]),
    }


def _top_share(answers: list[str | None]) -> float | None:
    """Share of the parsed answers in their most common group (answer_key), None without any."""
    keys = Counter(answer_key(a) for a in answers if a is not None)
    return max(keys.values()) / sum(keys.values()) if keys else None


def _field(sel: SelectedLike, name: str) -> Any:
    return sel[name] if isinstance(sel, Mapping) else getattr(sel, name)


def _label_correct(sel: SelectedLike) -> bool | None:
    """Whether a pseudo-label is right: `meta["label_correct"]` of a Selected or a DPO pair, or the top-level
    `label_correct` of an SFT record in selected.jsonl."""
    if isinstance(sel, Mapping):
        return sel["label_correct"] if "label_correct" in sel else sel.get("meta", {}).get("label_correct")
    return sel.meta.get("label_correct")
