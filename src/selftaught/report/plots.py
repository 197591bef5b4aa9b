"""The report's figures: one function a plot, each returning a matplotlib Figure or why it is skipped.

Figures are built with `matplotlib.figure.Figure` (no pyplot, so no global backend or open-figure
state) and encoded to PNG by the Agg renderer. A plot whose metric keys are absent from every round
returns a one-line note instead, so the report keeps working as the loop records more keys.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Callable

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .charts import figure, missing, round_axis, round_colors, series
from .load import RunData
from .plots_bstar import balance, control, diversity, exploitation, grid
from .plots_curriculum import arm_accuracy, bandit, levels

STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "savefig.facecolor": "white",
}
DPI = 100
PERCENT = FuncFormatter(lambda y, _: f"{100 * y:.3g}%")  # 0.125 -> 12.5%, 0.1 -> 10%


@dataclass
class Plot:
    id: str
    title: str
    caption: str
    make: Callable[[RunData], "Figure | str"]


def render(run: RunData) -> list[tuple[Plot, bytes | str]]:
    """Every plot as PNG bytes, or the note saying why it was skipped."""
    out: list[tuple[Plot, bytes | str]] = []
    for plot in PLOTS:
        try:
            with matplotlib.rc_context(STYLE):
                result = plot.make(run)
                out.append((plot, result if isinstance(result, str) else png(result)))
        except Exception as e:  # a malformed metric must not cost the whole report
            out.append((plot, f"could not draw this plot: {type(e).__name__}: {e}"))
    return out


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# --- held-out accuracy --------------------------------------------------------------------------

def accuracy(run: RunData) -> Figure | str:
    if not run.has("eval/accuracy"):
        return missing("eval/accuracy")
    fig, (ax,) = figure()
    _interval_series(ax, run, "eval/accuracy", "eval/accuracy_low", "eval/accuracy_high",
                     "held-out, greedy", "C0", annotate=True)
    _interval_series(ax, run, "probe/pass@1", "probe/pass@1_low", "probe/pass@1_high",
                     "probe set pass@1", "C2", dodge=-0.08)
    _interval_series(ax, run, "rollout/pass@1", "rollout/pass@1_low", "rollout/pass@1_high",
                     "training samples pass@1", "C1", dodge=0.08)
    _baselines(ax, run)
    ax.yaxis.set_major_formatter(PERCENT)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, min(1.0, _top(ax) * 1.2 + 0.02))
    ax.legend(loc="best")
    round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def _interval_series(ax, run, key, low_key, high_key, label, color, annotate=False, dodge=0.0) -> None:
    """`key` per round with error bars from its low/high keys, shifted `dodge` so bars do not overlap."""
    rows = [m for m in run.rounds if m.get(key) is not None]
    if not rows:
        return
    xs, ys = [m["round"] + dodge for m in rows], [m[key] for m in rows]
    lo = [max(0.0, y - m[low_key]) if m.get(low_key) is not None else 0.0 for y, m in zip(ys, rows)]
    hi = [max(0.0, m[high_key] - y) if m.get(high_key) is not None else 0.0 for y, m in zip(ys, rows)]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="-o", color=color, capsize=4, markersize=4,
                label=label + (" (95% interval)" if any(lo) or any(hi) else ""))
    if annotate and len(xs) <= 15:
        for x, y, h in zip(xs, ys, hi):
            ax.annotate(f"{100 * y:.1f}", (x, y), textcoords="offset points", xytext=(7, -3),
                        ha="left", va="top", fontsize=8, color=color)


def _baselines(ax, run: RunData) -> None:
    """The constant-answer baselines (dashed, grey) and a red ring on rounds flagged as collapsed."""
    for key, label, style in (("eval/const_gold_acc", "always the most common gold answer", "--"),
                              ("eval/const_model_acc", "always the model's top answer", ":")):
        series(ax, run, key, label, style, color="0.45")
    flagged = [m for m in run.rounds if m.get("eval/collapse") and m.get("eval/accuracy") is not None]
    if flagged:
        ax.plot([m["round"] for m in flagged], [m["eval/accuracy"] for m in flagged], "o", markersize=11,
                markerfacecolor="none", markeredgecolor="C3", label="answer collapse flagged")


def _top(ax) -> float:
    tops = [max(line.get_ydata(), default=0) for line in ax.get_lines() if len(line.get_ydata())]
    return max([float(t) for t in tops], default=1.0)


# --- pass@k -------------------------------------------------------------------------------------

_PASS = re.compile(r"^rollout/(pass|maj)@(\d+)$")


def passk(run: RunData) -> Figure | str:
    curves = {}
    for m in run.rounds:
        pts: dict[str, dict[int, float]] = {"pass": {}, "maj": {}}
        for key, value in m.items():
            hit = _PASS.match(key)
            if hit and value is not None:
                pts[hit.group(1)][int(hit.group(2))] = value
        if pts["pass"]:
            curves[m["round"]] = pts
    if not curves:
        return missing("rollout/pass@k")
    fig, (ax,) = figure()
    colors = round_colors(list(curves))
    ks: set[int] = set()
    for r, pts in curves.items():
        for kind, style in (("pass", "-o"), ("maj", "--s")):
            k = sorted(pts[kind])
            ks.update(k)
            if k:
                look = {"markersize": 4} if kind == "pass" else {"markerfacecolor": "white", "markersize": 7}
                ax.plot(k, [pts[kind][i] for i in k], style, color=colors[r],
                        label=f"round {r}" if kind == "pass" else None, **look)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(ks), [str(k) for k in sorted(ks)])
    ax.minorticks_off()
    ax.set_xlabel("k (samples per problem)")
    ax.yaxis.set_major_formatter(PERCENT)
    ax.set_ylabel("pass@k (dots), maj@k (open squares)")
    ax.legend(loc="upper left", ncols=min(4, len(curves)))
    return fig


# --- cost ---------------------------------------------------------------------------------------

def _numeric(m: dict[str, Any], key: str) -> bool:
    return isinstance(m.get(key), (int, float)) and not isinstance(m.get(key), bool)


def cost(run: RunData) -> Figure | str:
    token_keys = [k for k in run.keys() if k.endswith("/tokens") and any(_numeric(m, k) for m in run.rounds)]
    time_keys = [k for k in run.keys() if (k.startswith("time/") and k != "time/round" or k == "train/seconds")
                 and any(_numeric(m, k) for m in run.rounds)]
    if not token_keys and not time_keys:
        return missing("rollout/tokens", "train/tokens", "time/...")
    panels = [(k, t) for k, t in ((token_keys, "tokens"), (time_keys, "seconds")) if k]
    fig, axes = figure(len(panels))
    rounds = [m["round"] for m in run.rounds]
    for ax, (keys, unit) in zip(axes, panels):
        bottom = [0.0] * len(rounds)
        for i, key in enumerate(keys):
            vals = [float(m[key]) if _numeric(m, key) else 0.0 for m in run.rounds]
            ax.bar(rounds, vals, bottom=bottom, width=0.6, label=key, color=f"C{i}")
            bottom = [b + v for b, v in zip(bottom, vals)]
        if unit == "seconds" and run.has("time/round"):
            rest = [max(0.0, float(m["time/round"]) - b) if _numeric(m, "time/round") else 0.0
                    for m, b in zip(run.rounds, bottom)]
            if any(r > 0.02 * max(bottom + [1.0]) for r in rest):
                ax.bar(rounds, rest, bottom=bottom, width=0.6, color="#d0d7de", hatch="//",
                       edgecolor="#8c959f", linewidth=0, label="not timed by a phase")
            xs, ys = run.values("time/round")
            ax.plot(xs, ys, "_", color="black", markersize=22, markeredgewidth=2, label="time/round (total)")
        ax.set_title(f"{unit} per round")
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=0.5)
        round_axis(ax, rounds)
    return fig


# --- training -----------------------------------------------------------------------------------

def loss(run: RunData) -> Figure | str:
    curves = {m["round"]: m["train/loss_curve"] for m in run.rounds if m.get("train/loss_curve")}
    if curves and max(map(len, curves.values())) >= 3:
        fig, (ax,) = figure()
        colors = round_colors(list(curves))
        for r, ys in curves.items():
            ax.plot(range(1, len(ys) + 1), ys, "-", marker="." if len(ys) < 30 else None,
                    color=colors[r], label=f"round {r}")
        ax.set_xlabel("logged step")
        ax.set_ylabel("training loss")
        ax.legend(ncols=min(4, len(curves)))
        return fig
    if not run.has("train/loss"):  # too few logged steps for curves: first and last loss a round
        return missing("train/loss_curve", "train/loss")
    fig, (ax,) = figure()
    series(ax, run, "train/loss_first", "first logged loss", color="C7")
    series(ax, run, "train/loss", "last logged loss", color="C3")
    ax.set_ylabel("training loss")
    ax.set_ylim(bottom=0)
    ax.legend()
    round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def answers(run: RunData) -> Figure | str:
    rates = [("eval/unparsed_rate", "held-out unparsed"), ("rollout/unparsed_rate", "training unparsed"),
             ("eval/truncated_rate", "held-out truncated"), ("rollout/truncated_rate", "training truncated"),
             ("eval/conflict_rate", "held-out two answers"), ("rollout/conflict_rate", "training two answers")]
    lengths = [("eval/completion_length", "held-out"), ("rollout/completion_length", "training samples")]
    panels = [(p, t) for p, t in ((rates, "rate"), (lengths, "tokens")) if any(run.has(k) for k, _ in p)]
    if not panels:
        return missing("eval/unparsed_rate", "rollout/completion_length")
    fig, axes = figure(len(panels))
    for ax, (keys, unit) in zip(axes, panels):
        for k, label in keys:
            series(ax, run, k, label)
        if unit == "rate":
            ax.yaxis.set_major_formatter(PERCENT)
            ax.set_ylim(0, _top(ax) * 1.4 + 0.01)  # headroom for the legend
        ax.set_title("unparsed and truncated answers" if unit == "rate" else "completion length")
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, loc="best")
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


PLOTS: list[Plot] = [
    Plot("accuracy", "Held-out accuracy",
         "Greedy accuracy on the held-out split after each round (round 0: the starting model), with "
         "Wilson 95% intervals; pass@1 of the round's training samples for comparison. Grey: the accuracy of "
         "always giving one constant answer (the most common gold answer, dashed; the model's own most common "
         "answer, dotted); a red ring marks a round whose answers collapsed (no better than a constant answer, "
         "or one answer to more than half of the problems).", accuracy),
    Plot("passk", "pass@k per round",
         "Unbiased pass@k of each round's training samples over k; open squares, dashed: majority vote over k samples (maj@k).",
         passk),
    Plot("diversity", "Exploration: diversity",
         "Distinct answers and correct texts per problem, n-gram diversity and token entropy of the "
         "training samples (dashed: the fixed probe set). Falling lines are exploration decay.", diversity),
    Plot("balance", "Balance score",
         "B-STaR's balance score: per problem min(c/n*, 1) * c/s for s selected samples of which c are "
         "correct, averaged.", balance),
    Plot("exploitation", "Exploitation: the selector against the verifier",
         "Left: precision and recall of the samples the selection rule kept, judged by the verifier. Right: "
         "how well each scoring signal (the model's mean log-prob, self-certainty, the selector's score) "
         "ranks correct samples above wrong ones (AUROC; 0.5 is chance).",
         exploitation),
    Plot("control", "Temperature and threshold", "The sampling temperature and reward threshold of each "
         "round, as chosen by the controller.", control),
    Plot("grid", "Controller grid", "The balance score the controller measured at each grid point "
         "before the round's sampling; the star marks its choice.", grid),
    Plot("levels", "Curriculum: levels", "Left: the level each source trained at (threshold), or the mean level "
         "of the arms the bandit drew. Right: the highest level whose held-out accuracy is at least 50% "
         "(curriculum.eval_levels).", levels),
    Plot("arm_accuracy", "Accuracy per arm", "Accuracy per arm (a source at a level): greedy on the held-out "
         "problems of each arm, and of the round's training samples.", arm_accuracy),
    Plot("bandit", "Curriculum: the bandit", "SEC's value Q of each arm after the round (the TD average of the "
         "mean absolute advantage of its samples) and the training problems drawn from each arm.", bandit),
    Plot("cost", "Cost", "Tokens generated and trained, and seconds per phase.", cost),
    Plot("loss", "Training loss", "Logged training loss of each round's fine-tuning.", loss),
    Plot("answers", "Answer format", "Answers the scorer could not parse, samples cut at the token limit, "
         "and mean completion length.", answers),
]
