"""The curriculum's figures: the level each source trained at, held-out accuracy per arm (source, level),
and the bandit's values and choices. Each reads the round metrics only (`curriculum/...`, `eval/arm/...`)."""

from __future__ import annotations

import re

from matplotlib.figure import Figure

from .charts import figure, headroom, missing, round_axis, series
from .load import RunData

ARM_LEVEL = re.compile(r"^(.*)@L(-?\d+)$")


def _suffixes(run: RunData, prefix: str, suffix: str = "") -> list[str]:
    """The middle part of every key `prefix<middle>suffix` some round has, in first-seen order."""
    return [k[len(prefix): len(k) - len(suffix)] for k in run.keys()
            if k.startswith(prefix) and k.endswith(suffix) and run.has(k)]


def _mean_chosen_level(run: RunData, source: str) -> tuple[list[int], list[float]]:
    """(rounds, mean level of the round's training problems from `source`), from curriculum/chosen/<arm>."""
    xs, ys = [], []
    for m in run.rounds:
        pairs = [(int(match[2]), v) for k, v in m.items() if k.startswith("curriculum/chosen/") and v
                 and (match := ARM_LEVEL.match(k.removeprefix("curriculum/chosen/"))) and match[1] == source]
        if pairs:
            xs.append(int(m["round"]))
            ys.append(sum(level * n for level, n in pairs) / sum(n for _, n in pairs))
    return xs, ys


def levels(run: RunData) -> Figure | str:
    """Left: each source's training level per round (threshold) or the mean level of the arms the bandit drew;
    right: the highest level with held-out accuracy >= 50%."""
    stepped = _suffixes(run, "curriculum/level/")
    drawn = sorted({m[1] for a in _suffixes(run, "curriculum/chosen/") if (m := ARM_LEVEL.match(a))})
    if not stepped and not drawn and not run.has("eval/highest_level_50"):
        return missing("curriculum/level/<source>", "curriculum/chosen/<arm>", "eval/highest_level_50")
    fig, (left, right) = figure(2)
    for i, source in enumerate(stepped):
        series(left, run, f"curriculum/level/{source}", source, "-o", color=f"C{i}")
    for i, source in enumerate(drawn, start=len(stepped)):
        xs, ys = _mean_chosen_level(run, source)
        left.plot(xs, ys, "--s", markersize=4, color=f"C{i}", label=f"{source} (bandit: mean level drawn)")
    left.set_title("training level")
    left.set_ylabel("level")
    series(right, run, "eval/highest_level_50", "highest level >= 50%", color="C3")
    right.set_title("highest level with held-out accuracy >= 50%")
    right.set_ylabel("level (-1: none)")
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def arm_accuracy(run: RunData) -> Figure | str:
    """Held-out greedy accuracy of each arm per round (left) and of the training samples per arm (right)."""
    panels = [(src, title) for src, title in (("eval", "held-out, per arm"), ("rollout", "training samples, per arm"))
              if _suffixes(run, f"{src}/arm/", "/accuracy")]
    if not panels:
        return missing("eval/arm/<arm>/accuracy")
    fig, axes = figure(len(panels))
    for ax, (src, title) in zip(axes, panels):
        for i, arm in enumerate(_suffixes(run, f"{src}/arm/", "/accuracy")):
            series(ax, run, f"{src}/arm/{arm}/accuracy", arm, color=f"C{i % 10}")
        ax.set_title(title)
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.03, 1.03)
        headroom(ax, 0.2)
        ax.legend(fontsize=7, loc="upper left", ncols=3)
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def bandit(run: RunData) -> Figure | str:
    """Left: each arm's value Q after the round; right: how many training problems each arm gave (stacked)."""
    arms = _suffixes(run, "curriculum/q/")
    if not arms:
        return missing("curriculum/q/<arm>")
    fig, (left, right) = figure(2)
    rounds = [m["round"] for m in run.rounds]
    bottom = {r: 0 for r in rounds}
    for i, arm in enumerate(arms):
        series(left, run, f"curriculum/q/{arm}", arm, color=f"C{i % 10}")
        xs = [m["round"] for m in run.rounds]
        counts = [m.get(f"curriculum/chosen/{arm}") or 0 for m in run.rounds]
        right.bar(xs, counts, bottom=[bottom[x] for x in xs], color=f"C{i % 10}", label=arm, width=0.6)
        for x, c in zip(xs, counts):
            bottom[x] += c
    left.set_title("Q (mean absolute advantage, TD-averaged)")
    right.set_title("training problems drawn per arm")
    left.set_ylabel("Q")
    right.set_ylabel("problems")
    for ax in (left, right):
        ax.legend(fontsize=7, loc="upper left", ncols=3)
        headroom(ax, 0.3)
        round_axis(ax, rounds)
    return fig
