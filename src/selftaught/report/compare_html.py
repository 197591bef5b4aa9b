"""compare.html: a comparison's analysis (compare.json's content) as one self-contained page, in the
run report's style: the variants table, one plain-words line per paired comparison, warnings, and
plots inlined as PNG (learning curves with bands, per-seed values, paired differences).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import colormaps

from ..core.io import atomic_write_text
from .charts import figure, round_axis
from .html import CSS, _figure, _table
from .plots import STYLE, png


def fmt_interval(entry: dict[str, Any] | None, signed: bool = False) -> str:
    if not entry:
        return "-"
    f = "{:+.1f}" if signed else "{:.1f}"
    if entry.get("low") is None:
        return f.format(entry["mean"]) + " (1 seed)"
    return f"{f.format(entry['mean'])} [{f.format(entry['low'])}, {f.format(entry['high'])}]"


def variant_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the variants table (shared by the page and the terminal)."""
    level = f"{result.get('level', 0.95):.0%}"
    headers = ["variant", "seeds", f"final accuracy % [{level}]", f"gain, points [{level}]",
               "sampled tokens", "trained tokens", "seconds"]
    body = []
    for name, e in result["variants"].items():
        c = e["compute"]
        body.append([name + (" (baseline)" if name == result["baseline"] else ""), str(len(e["seeds"])),
                     fmt_interval(e["final"].get("final_accuracy")), fmt_interval(e["final"].get("gain"), True),
                     _num(c.get("sampled_tokens")), _num(c.get("trained_tokens")), _num(c.get("seconds"))])
    return headers, body


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _colors(names: list[str]) -> dict[str, Any]:
    cmap = colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def curves_plot(result: dict[str, Any]) -> bytes | str:
    fig, (ax,) = figure(1)
    colors = _colors(list(result["variants"]))
    drawn = []
    for name, e in result["variants"].items():
        c = e["curve"]
        if not c["rounds"]:
            continue
        ax.plot(c["rounds"], c["mean"], "-o", markersize=4, color=colors[name], label=name)
        if all(x is not None for x in c["low"]):  # drawn within 0..100%; the table gives the interval itself
            ax.fill_between(c["rounds"], [max(0.0, x) for x in c["low"]], [min(100.0, x) for x in c["high"]],
                            color=colors[name], alpha=0.18)
        drawn += c["rounds"]
    if not drawn:
        return "no finished cells."
    round_axis(ax, drawn)
    ax.set_ylabel("held-out accuracy (%)")
    ax.legend(loc="best")
    return png(fig)


def seeds_plot(result: dict[str, Any]) -> bytes | str:
    names = [n for n, e in result["variants"].items() if e["final"].get("gain")]
    if not names:
        return "no finished cells."
    fig, (ax,) = figure(1)
    colors = _colors(list(result["variants"]))
    for i, name in enumerate(names):
        g = result["variants"][name]["final"]["gain"]
        ax.plot([i] * len(g["values"]), g["values"], "o", color=colors[name], alpha=0.6)
        ax.plot([i], [g["mean"]], "_", color="black", markersize=22)
        if g["low"] is not None:
            ax.vlines(i, g["low"], g["high"], color="black", linewidth=1.2)
    ax.set_xticks(range(len(names)), names)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("gain over round 0 (points)")
    return png(fig)


def differences_plot(result: dict[str, Any]) -> bytes | str:
    rows = [c for c in result["comparisons"] if c["metric"] == "final_accuracy"]
    if not rows:
        return "no comparison: one variant, or no seed finished in both a variant and the baseline."
    fig, (ax,) = figure(1)
    for i, c in enumerate(rows):
        ax.plot([c["mean"]], [i], "o", color="black")
        if c["low"] is not None:
            ax.hlines(i, c["low"], c["high"], color="black", linewidth=1.5)
    ax.set_yticks(range(len(rows)), [f"{c['variant']} - {c['baseline']}" for c in rows])
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("paired difference in final held-out accuracy (points)")
    return png(fig)


PLOTS = [
    ("curves", "Learning curves", "Held-out accuracy per round: mean over seeds, band = t interval.", curves_plot),
    ("seeds", "Gain per seed", "Each dot one seed's gain over round 0; bar = mean and t interval.", seeds_plot),
    ("differences", "Paired differences", "Final accuracy minus the baseline's, paired by seed; "
     "line = paired t interval.", differences_plot),
]


def build_compare_html(result: dict[str, Any]) -> str:
    spec = result["spec"]
    title = f"compare: {', '.join(result['variants'])}"
    parts = [f"<header><h1>{escape(title)}</h1>",
             f'<p class="meta">recipe <b>{escape(str(spec.get("recipe") or "defaults"))}</b> · '
             f"seeds {escape(', '.join(map(str, result['seeds'])))} · baseline <b>{escape(result['baseline'])}</b>"
             f"</p></header>", "<h2>Variants</h2>", _table(*variant_rows(result))]
    lines = [c["line"] for c in result["comparisons"] if c["metric"] == "final_accuracy"]
    if lines:
        parts.append("<h2>Against the baseline (final accuracy, paired by seed)</h2><ul>"
                     + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>")
    if result["warnings"]:
        parts.append('<h2>Warnings</h2><ul class="skipped">'
                     + "".join(f"<li>{escape(w)}</li>" for w in result["warnings"]) + "</ul>")
    for pid, ptitle, caption, make in PLOTS:
        with matplotlib.rc_context(STYLE):
            data = make(result)
        parts.append(_figure(pid, ptitle, caption, data) if isinstance(data, bytes)
                     else f"<h2>{escape(ptitle)}</h2><p class=\"caption\">{escape(data)}</p>")
    cells = [[c["variant"], str(c["seed"]), str(c["rounds"]), _pct(c["final_accuracy"]), _pct(c["gain"]),
              _num(c["sampled_tokens"]), _num(c["trained_tokens"]), _num(c["seconds"]), c["dir"]]
             for c in result["cells"]]
    parts.append("<h2>Cells</h2>" + _table(["variant", "seed", "rounds", "final %", "gain", "sampled tokens",
                                            "trained tokens", "seconds", "run directory"], cells))
    parts.append(f"<footer>Made by <code>selftaught compare</code> from {escape(str(result.get('folder', '')))}."
                 "</footer>")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head>\n<body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def write_compare_html(path: str | Path, result: dict[str, Any]) -> Path:
    path = Path(path)
    atomic_write_text(path, build_compare_html(result))
    return path
