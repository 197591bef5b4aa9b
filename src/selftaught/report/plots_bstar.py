"""B-STaR's figures: exploration (diversity), balance, exploitation, the controller's choices and grid."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from .charts import SOURCES, figure, headroom, missing, round_axis, round_colors, series
from .load import RunData, setting


# --- exploration --------------------------------------------------------------------------------

DIVERSITY_PANELS = (
    ("per problem", "distinct per problem",
     (("distinct_answers", "answers"), ("distinct_correct", "correct texts"),
      ("distinct_correct_answers", "correct answers"))),
    ("n-gram diversity", "distinct n-grams / all", (("distinct_4gram", "distinct-4"), ("distinct_2gram", "distinct-2"))),
    ("token entropy", "nats / token", (("entropy", "entropy"),)),
)


def diversity(run: RunData) -> Figure | str:
    panels = [p for p in DIVERSITY_PANELS
              if any(run.has(f"{src}/{k}") for src, _, _ in SOURCES for k, _ in p[2])]
    if not panels:
        return missing("rollout/distinct_answers", "rollout/distinct_4gram", "rollout/entropy")
    fig, axes = figure(len(panels))
    for ax, (title, ylabel, keys) in zip(axes, panels):
        for i, (key, label) in enumerate(keys):
            for src, src_label, dash in SOURCES:
                tag = label if src == "rollout" else f"{label} ({src_label})"
                series(ax, run, f"{src}/{key}", tag, dash + "o", color=f"C{i}")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        headroom(ax)
        ax.legend(fontsize=7, loc="upper right")
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def balance(run: RunData) -> Figure | str:
    keys = [("rollout/balance", "training samples"), ("probe/balance", "probe set"),
            ("control/balance", "controller's choice")]
    if not any(run.has(k) for k, _ in keys):
        return missing(*(k for k, _ in keys))
    fig, (ax,) = figure()
    for k, label in keys:
        series(ax, run, k, label)
    ax.set_ylabel("balance score")
    ax.set_ylim(bottom=0)
    ax.legend()
    round_axis(ax, [m["round"] for m in run.rounds])
    return fig


# --- exploitation -------------------------------------------------------------------------------

SELECTION_KEYS = (("select/precision", "precision"), ("select/recall", "recall"), ("select/f1", "F1"),
                  ("select/coverage", "problems covered"), ("select/label_accuracy", "pseudo-label accuracy"))


def exploitation(run: RunData) -> Figure | str:
    """Left: the selection against the verifier; right: AUROC of each scoring signal (select/auroc,
    exploit/auroc_<signal>) at telling correct samples from wrong ones."""
    sel = [(k, label) for k, label in SELECTION_KEYS if run.has(k)]
    aurocs = [(k, "selector" if k == "select/auroc" else k.split("auroc_", 1)[-1].replace("_", "-"))
              for k in run.keys() if (k == "select/auroc" or k.startswith("exploit/auroc")) and run.has(k)]
    if not sel and not aurocs:
        return missing("select/precision", "select/recall", "select/auroc", "exploit/auroc_...")
    panels = [(keys, title) for keys, title in ((sel, "selection vs verifier"), (aurocs, "AUROC vs verifier"))
              if keys]
    fig, axes = figure(len(panels))
    for ax, (keys, title) in zip(axes, panels):
        for i, (k, label) in enumerate(keys):
            series(ax, run, k, label, color=f"C{i}")
        if title.startswith("AUROC"):
            ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="chance")
        ax.set_ylim(0, 1.25)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title(title)
        ax.legend(loc="upper left", ncols=3, fontsize=7)
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


# --- control ------------------------------------------------------------------------------------

def control(run: RunData) -> Figure | str:
    names = [n for n in ("temperature", "threshold") if any(setting(m, n) is not None for m in run.rounds)]
    if not names:
        return missing("control/temperature", "settings.temperature")
    chosen = any(run.has(f"control/{n}") for n in names)
    values = {n: {setting(m, n) for m in run.rounds} - {None} for n in names}
    if not chosen and all(len(v) == 1 for v in values.values()):
        fixed = ", ".join(f"{n} {next(iter(v))}" for n, v in values.items())
        return f"skipped: no controller in this run; the same settings in every round ({fixed})."
    fig, axes = figure(len(names))
    for ax, name in zip(axes, names):
        rows = [m for m in run.rounds if setting(m, name) is not None]
        ax.plot([m["round"] for m in rows], [setting(m, name) for m in rows], "-o", markersize=5, color="C3")
        ax.set_title(f"{name} {'chosen by the controller' if chosen else 'used'}")
        ax.set_ylabel(name)
        round_axis(ax, [m["round"] for m in run.rounds])
    return fig


def grid(run: RunData) -> Figure | str:
    rows = [m for m in run.rounds if m.get("control/grid")]
    if not rows:
        return missing("control/grid")
    thresholds = {g.get("threshold") for m in rows for g in m["control/grid"]}
    return _grid_lines(rows) if len(thresholds) <= 1 else _grid_heatmaps(rows)


def _grid_lines(rows: list[dict[str, Any]]) -> Figure:
    """One threshold: balance against temperature, a line a round, the choice starred."""
    fig, (ax,) = figure()
    colors = round_colors([m["round"] for m in rows])
    for m in rows:
        pts = sorted((g["temperature"], g["balance"]) for g in m["control/grid"]
                     if g.get("balance") is not None)
        ax.plot([t for t, _ in pts], [b for _, b in pts], "-o", markersize=3, color=colors[m["round"]],
                label=f"round {m['round']}")
        pick = [b for t, b in pts if t == m.get("control/temperature")]
        if pick:
            ax.plot([m["control/temperature"]], pick[:1], "*", markersize=13, color=colors[m["round"]],
                    markeredgecolor="black", markeredgewidth=0.6)
    ax.set_xlabel("temperature (star: chosen)")
    ax.set_ylabel("balance score")
    ax.legend(ncols=min(4, len(rows)), fontsize=7)
    return fig


def _grid_heatmaps(rows: list[dict[str, Any]], most: int = 6) -> Figure:
    """Temperature x threshold grids: one heatmap a round (the last `most` rounds)."""
    rows = rows[-most:]
    fig, axes = figure(len(rows))
    all_b = [g["balance"] for m in rows for g in m["control/grid"] if g.get("balance") is not None]
    vmin, vmax = min(all_b, default=0), max(all_b, default=1)
    image = None
    for ax, m in zip(axes, rows):
        temps = sorted({g["temperature"] for g in m["control/grid"]})
        ths = sorted({g["threshold"] for g in m["control/grid"]})
        cells = [[math.nan] * len(temps) for _ in ths]
        for g in m["control/grid"]:
            if g.get("balance") is not None:
                cells[ths.index(g["threshold"])][temps.index(g["temperature"])] = g["balance"]
        image = ax.imshow(cells, origin="lower", aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
        if len(temps) * len(ths) <= 40:
            for y, row in enumerate(cells):
                for x, b in enumerate(row):
                    if b == b:  # not NaN
                        light = (b - vmin) > 0.6 * (vmax - vmin)
                        ax.text(x, y - 0.3, f"{b:.3f}", ha="center", va="center", fontsize=6.5,
                                color="black" if light else "white")
        ax.set_xticks(range(len(temps)), [f"{t:g}" for t in temps], fontsize=7)
        ax.set_yticks(range(len(ths)), [f"{t:g}" for t in ths], fontsize=7)
        ax.grid(False)
        ax.set_title(f"round {m['round']}")
        ax.set_xlabel("temperature")
        if m.get("control/temperature") in temps and m.get("control/threshold") in ths:
            ax.plot(temps.index(m["control/temperature"]), ths.index(m["control/threshold"]), "*",
                    color="white", markersize=12, markeredgecolor="black")
    axes[0].set_ylabel("threshold")
    fig.colorbar(image, ax=axes, label="balance (star: chosen)", shrink=0.9)
    return fig
