"""Metrics of one strategy's scored per-problem rows, the comparison table, and the cost/accuracy plot.

A row (one line of `traces.jsonl`) carries `correct` (None when the problem has no gold answer),
`tokens`, `confidence`, `extra` and `trace`; refinement rows also carry `before_correct`.

Metric names:

- `accuracy`, `accuracy_ci` (95% Wilson), `n`, `unparsed` (final answers with no answer found);
- `tokens/problem` (generated tokens, every sample, critique and revision), `tokens/solved`
  (all tokens / problems solved: the cost of one solved problem);
- `ece`, `auroc`, `brier`: calibration of the strategy's confidence against final correctness;
- `pass@k` (the `sample` strategy): unbiased pass@k over its n samples;
- refinement: `transitions` (counts of correct->correct, correct->wrong, wrong->correct,
  wrong->wrong from the answer before refinement to the final one, over refined problems),
  `p(correct_after|correct_before)`, `p(correct_after|wrong_before)`, `refined` (fraction of problems
  refined), `stop_reasons`, and the first critique's rates `p(no_error|correct)` (a correct answer let
  through) and `p(error|wrong)` (a wrong answer caught);
- `samples_used` (adaptive consistency): mean samples read per problem;
- `scored_tokens/problem` (step-scored strategies): solution tokens the step scorer read per problem.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from ..metrics import brier_score, confidence_auroc, expected_calibration_error, pass_at_k, wilson_interval

TRANSITIONS = ("correct->correct", "correct->wrong", "wrong->correct", "wrong->wrong")


def transition_matrix(before: Sequence[bool], after: Sequence[bool]) -> dict[str, Any]:
    """Counts of each (before, after) correctness pair, and the two conditional rates.

    >>> m = transition_matrix([True, True, False, False, False], [True, False, True, False, False])
    >>> [m[k] for k in TRANSITIONS], m["p(correct_after|correct_before)"], m["p(correct_after|wrong_before)"]
    ([1, 1, 1, 2], 0.5, 0.3333333333333333)
    """
    if len(before) != len(after):
        raise ValueError(f"transition_matrix: {len(before)} before values, {len(after)} after.")
    counts = Counter((bool(b), bool(a)) for b, a in zip(before, after))
    out: dict[str, Any] = {name: counts[(b, a)] for name, (b, a) in
                           zip(TRANSITIONS, [(True, True), (True, False), (False, True), (False, False)])}
    cb, wb = out["correct->correct"] + out["correct->wrong"], out["wrong->correct"] + out["wrong->wrong"]
    out["p(correct_after|correct_before)"] = out["correct->correct"] / cb if cb else None
    out["p(correct_after|wrong_before)"] = out["wrong->correct"] / wb if wb else None
    return out


def _pass_at_k(rows: list[dict]) -> dict[str, float]:
    counts = [(len(r["trace"]), sum(e.get("verdict") == "correct" for e in r["trace"])) for r in rows]
    n = min(c[0] for c in counts)
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= n]
    return {f"pass@{k}": sum(pass_at_k(ni, ci, k) for ni, ci in counts) / len(counts) for k in ks}


def _calibration(rows: list[dict]) -> dict[str, Any]:
    pairs = [(r["confidence"], r["correct"]) for r in rows if r["confidence"] is not None and r["correct"] is not None]
    if not pairs:
        return {"ece": None, "auroc": None, "brier": None}
    conf, ok = [min(1.0, max(0.0, c)) for c, _ in pairs], [k for _, k in pairs]
    return {"ece": expected_calibration_error(conf, ok), "auroc": confidence_auroc(conf, ok),
            "brier": brier_score(conf, ok)}


def _refinement(rows: list[dict]) -> dict[str, Any]:
    refined = [r for r in rows if r["extra"].get("refined") and r.get("before_correct") is not None]
    out: dict[str, Any] = {"refined": len(refined) / len(rows)}
    out["transitions"] = transition_matrix([r["before_correct"] for r in refined], [r["correct"] for r in refined])
    out["stop_reasons"] = dict(Counter(r["extra"].get("stop_reason") for r in refined))
    critiqued = [r for r in refined if r["extra"].get("first_critique_no_error") is not None]
    good = [r["extra"]["first_critique_no_error"] for r in critiqued if r["before_correct"]]
    bad = [not r["extra"]["first_critique_no_error"] for r in critiqued if not r["before_correct"]]
    out["p(no_error|correct)"] = sum(good) / len(good) if good else None
    out["p(error|wrong)"] = sum(bad) / len(bad) if bad else None
    return out


def strategy_metrics(rows: list[dict]) -> dict[str, Any]:
    """All metrics of one strategy's scored rows (see the module docstring)."""
    if not rows:
        raise ValueError("strategy_metrics needs at least one problem.")
    labelled = [r for r in rows if r["correct"] is not None]
    solved = sum(bool(r["correct"]) for r in labelled)
    total_tokens = sum(r["tokens"] for r in rows)
    m: dict[str, Any] = {"n": len(rows), "accuracy": solved / len(labelled) if labelled else None,
                         "accuracy_ci": list(wilson_interval(solved, len(labelled))) if labelled else None,
                         "solved": solved, "unparsed": sum(r["answer"] is None for r in rows) / len(rows),
                         "tokens/problem": total_tokens / len(rows),
                         "tokens/solved": total_tokens / solved if solved else None}
    m.update(_calibration(rows))
    if all(r["extra"].get("pass_at_k") for r in rows) and labelled:
        m.update(_pass_at_k(labelled))
    if any("refined" in r["extra"] for r in rows) and labelled:
        m.update(_refinement(labelled))
    if all("samples_used" in r["extra"] for r in rows):
        m["samples_used"] = sum(r["extra"]["samples_used"] for r in rows) / len(rows)
    if all("scored_tokens" in r["extra"] for r in rows):
        m["scored_tokens/problem"] = sum(r["extra"]["scored_tokens"] for r in rows) / len(rows)
    return m


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}" if pct else f"{x:.1f}" if isinstance(x, float) else str(x)


def results_table(all_metrics: list[dict[str, Any]], title: str = "Test-time strategies"):
    """A rich table: one row per strategy run (label), accuracy with its interval, cost, calibration."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("strategy", "acc %", "95% CI", "tok/prob", "tok/solved", "ECE", "AUROC", "notes"):
        table.add_column(col, justify="left" if col in ("strategy", "notes") else "right")
    for m in all_metrics:
        ci = m.get("accuracy_ci")
        notes = []
        if "transitions" in m:
            t = m["transitions"]
            notes.append("C->C {} C->W {} W->C {} W->W {}".format(*(t[k] for k in TRANSITIONS)))
        if "samples_used" in m:
            notes.append(f"samples {m['samples_used']:.1f}")
        if "pass@1" in m:
            notes.append(" ".join(f"{k} {100 * v:.0f}" for k, v in m.items() if k.startswith("pass@")))
        table.add_row(m["label"], _fmt(m["accuracy"], True), f"{_fmt(ci[0], True)}-{_fmt(ci[1], True)}" if ci else "-",
                      _fmt(m["tokens/problem"]), _fmt(m["tokens/solved"]), _fmt(m.get("ece") and round(m["ece"], 3)),
                      _fmt(m.get("auroc") and round(m["auroc"], 3)), "; ".join(notes))
    return table


def plot_accuracy_vs_tokens(all_metrics: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Accuracy (with 95% interval) against generated tokens per problem, one point per strategy run.

    Points at the same cost are spread a little sideways so their intervals stay readable; the legend
    names them (x markers: upper bounds that read the answer key).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in all_metrics if m["accuracy"] is not None]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    cmap = plt.get_cmap("tab20")
    same_x: dict[float, list[int]] = {}
    for i, m in enumerate(shown):
        same_x.setdefault(round(m["tokens/problem"], 1), []).append(i)
    for i, m in enumerate(shown):
        group = same_x[round(m["tokens/problem"], 1)]
        x = m["tokens/problem"] * (1 + 0.025 * (group.index(i) - (len(group) - 1) / 2))
        lo, hi = m["accuracy_ci"]
        y = 100 * m["accuracy"]
        ax.errorbar([x], [y], yerr=[[y - 100 * lo], [100 * hi - y]], fmt="x" if m.get("upper_bound") else "o",
                    color=cmap(i % 20), capsize=3, alpha=0.9, label=f"{m['label']} ({y:.1f}%)")
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per problem (log scale)")
    ax.set_ylabel("accuracy % (95% Wilson interval)")
    ax.set_title(title or "Accuracy vs cost")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
