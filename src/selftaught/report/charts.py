"""Small helpers the report's figures share: a figure of panels, a round axis, colours a round."""

from __future__ import annotations

from typing import Any

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .load import RunData

WIDTH, HEIGHT = 9.0, 3.1
SOURCES = (("rollout", "training samples", "-"), ("probe", "probe set", "--"))


def figure(ncols: int = 1) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def round_axis(ax, rounds: list[int]) -> None:
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if rounds:
        ax.set_xlim(min(rounds) - 0.4, max(rounds) + 0.4)


def round_colors(rounds: list[int]) -> dict[int, Any]:
    cmap = colormaps["viridis"]
    span = max(len(rounds) - 1, 1)
    return {r: cmap(0.9 * i / span) for i, r in enumerate(sorted(rounds))}


def missing(*keys: str) -> str:
    return "skipped: no round records " + " or ".join(f"`{k}`" for k in keys) + "."


def series(ax, run: RunData, key: str, label: str, style: str = "-o", **kw) -> bool:
    xs, ys = run.values(key)
    if xs:
        ax.plot(xs, ys, style, label=label, markersize=4, **kw)
    return bool(xs)


def headroom(ax, frac: float = 0.3) -> None:
    """Raise the top of the y axis so a legend in the upper corner does not cover the lines."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + frac * (high - low))
