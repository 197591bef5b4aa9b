"""One progress bar for every long phase: sampling, evaluation, training, conversion, server waits.

`progress(label, total, enabled)` is a context manager yielding `advance(n=1)`. The bar (rich) shows
the label, a bar, done/total, the rate per second, elapsed and remaining time; it is drawn on stderr
and removed when the phase ends. It stays quiet when `enabled` is False or when stderr is not a
terminal (a pipe, a file, a CI log): nothing is written then, so logs hold no bar frames.

The loop decides `enabled` once from its console (`wants_progress`: a terminal or not) and hands it to
the generators (`generator.progress`) and, through `showing(enabled)`, to the trainers' step bar
(train/common.py); `console` here is the one the bars draw on (tests swap it).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

console = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second (`12.3/s`), or seconds per item when slower than one a second (`4.1s/it`)."""

    def __init__(self, unit: str = "it") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text(f"?/{self.unit}", style="progress.data.speed")
        text = f"{speed:.1f} {self.unit}/s" if speed >= 1 else f"{1 / speed:.1f} s/{self.unit}"
        return Text(text, style="progress.data.speed")


def wants_progress(out: Console) -> bool:
    """Whether a command printing to `out` should show bars: a terminal (or a notebook), not a pipe or file."""
    return bool(out.is_terminal or out.is_interactive)


_shown: ContextVar[bool] = ContextVar("selftaught_progress", default=False)


@contextmanager
def showing(enabled: bool) -> Iterator[None]:
    """Bars asked for with `enabled=None` inside this block follow `enabled` (the loop wraps its training
    step in it, so trainers need no extra argument)."""
    token = _shown.set(enabled)
    try:
        yield
    finally:
        _shown.reset(token)


@contextmanager
def progress(label: str, total: int | None, enabled: bool | None = True, unit: str = "it",
             on: Console | None = None) -> Iterator[Callable[..., None]]:
    """A bar named `label` over `total` items (None: unknown until set); yields
    `advance(n=1, total=None, label=None)`, which can also set the total or relabel the bar.
    `enabled=None`: as the enclosing `showing` block says (off outside one)."""
    out = on or console
    shown = (_shown.get() if enabled is None else enabled) and wants_progress(out)  # (rich would print a
    # blank line on a file)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=out, disable=not shown, transient=True)
    with bar:
        task = bar.add_task(label, total=total)

        def advance(n: int = 1, total: int | None = None, label: str | None = None) -> None:
            bar.update(task, advance=n, total=total, description=label)

        yield advance
