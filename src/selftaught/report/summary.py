"""The round summary: one row a round, the same cells in the terminal (rich) and in report.html.

A column appears only when some round records its key, so a plain RFT run shows a narrow table and a
B-STaR run adds balance, the selector's precision/recall and the chosen temperature and threshold.

Beside the held-out accuracy stand the two constant-answer baselines (always the most common gold
answer; always the model's own most common answer) and a `collapse` column; a round whose metrics
flag answer collapse (metrics/collapse.py) gets a `!` after its accuracy and a warning line under the
table (`warnings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from rich.table import Table

from ..metrics.collapse import collapse_message
from .load import RunData, setting

Cell = Callable[[dict[str, Any]], str]


def pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def num(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _accuracy(m: dict[str, Any]) -> str:
    if m.get("eval/accuracy") is None:
        return "-"
    low, high = m.get("eval/accuracy_low"), m.get("eval/accuracy_high")
    ci = f" [{pct(low)}, {pct(high)}]" if low is not None and high is not None else ""
    return pct(m["eval/accuracy"]) + ci + (" !" if _collapsed(m) else "")


def _collapsed(m: dict[str, Any]) -> list[str]:
    """Which of the round's answer sets are flagged as collapsed: "eval", "train"."""
    return [name for name, key in (("eval", "eval/collapse"), ("train", "rollout/collapse")) if m.get(key)]


def _collapse_cell(m: dict[str, Any]) -> str:
    if m.get("eval/collapse") is None and m.get("rollout/collapse") is None:
        return "-"
    return "+".join(_collapsed(m)).upper() or "no"


def warnings(run: RunData) -> list[str]:
    """One line per round and answer set flagged as collapsed (held-out, training samples)."""
    return [f"round {m['round']}: {msg}" for m in run.rounds
            for msg in (collapse_message(m, "eval/"), collapse_message(m, "rollout/")) if msg]


def _tokens(m: dict[str, Any]) -> str:
    total = sum(v for k, v in m.items() if k.endswith("/tokens") and isinstance(v, (int, float)))
    return f"{int(total):,}" if total else "-"


def _largest_k(run: RunData, kind: str) -> int | None:
    ks = [int(hit.group(1)) for k in run.keys() if (hit := re.fullmatch(rf"rollout/{kind}@(\d+)", k))]
    return max(ks, default=None)


@dataclass
class Column:
    header: str  # in report.html
    short: str  # in the terminal
    cell: Cell
    key: str | None  # shown when some round has it (None: always)
    rank: int  # terminal columns are dropped highest rank first until the table fits


def columns(run: RunData) -> list[Column]:
    """The columns this run has data for, in display order."""
    cols = [
        Column("round", "round", lambda m: str(m["round"]), None, 0),
        Column("held-out % [95% CI]", "held-out % [CI]", _accuracy, "eval/accuracy", 0),
        Column("always the most common gold answer %", "gold-const",
               lambda m: pct(m.get("eval/const_gold_acc")), "eval/const_gold_acc", 1),
        Column("always the model's top answer %", "model-const",
               lambda m: pct(m.get("eval/const_model_acc")), "eval/const_model_acc", 1),
        Column("answer collapse (held-out / training samples)", "collapse", _collapse_cell, "eval/collapse", 0),
        Column("train pass@1", "pass@1", lambda m: pct(m.get("rollout/pass@1")), "rollout/pass@1", 1),
    ]
    for kind, rank in (("pass", 1), ("maj", 6)):
        k = _largest_k(run, kind)
        if k and k > 1:
            key = f"rollout/{kind}@{k}"
            cols.append(Column(f"train {kind}@{k}", f"{kind}@{k}", lambda m, key=key: pct(m.get(key)), key, rank))
    cols += [
        Column("probe pass@1", "probe@1", lambda m: pct(m.get("probe/pass@1")), "probe/pass@1", 7),
        Column("distinct correct", "dist.ok", lambda m: num(m.get("rollout/distinct_correct")),
               "rollout/distinct_correct", 4),
        Column("balance", "bal", lambda m: num(m.get("rollout/balance"), 3), "rollout/balance", 2),
        Column("precision", "prec", lambda m: num(m.get("select/precision")), "select/precision", 5),
        Column("recall", "rec", lambda m: num(m.get("select/recall")), "select/recall", 5),
        Column("AUROC", "auroc", lambda m: num(m.get("select/auroc")), "select/auroc", 5),
        Column("T", "T", lambda m: _fmt(setting(m, "temperature")), "temperature", 2),
        Column("threshold", "thr", lambda m: _fmt(setting(m, "threshold")), "threshold", 2),
        Column("kept", "kept", lambda m: str(m.get("select/kept", "-")), "select/kept", 3),
        Column("held-out unparsed %", "unparsed %", lambda m: pct(m.get("eval/unparsed_rate")),
               "eval/unparsed_rate", 4),
        Column("tokens", "tokens", _tokens, None, 3),
        Column("seconds", "sec", lambda m: num(m.get("time/round"), 0), "time/round", 3),
    ]
    return [c for c in cols if c.key is None or _present(run, c.key)]


def _present(run: RunData, key: str) -> bool:
    if key in ("temperature", "threshold"):
        return any(setting(m, key) is not None for m in run.rounds)
    if key == "eval/collapse":
        return run.has(key) or run.has("rollout/collapse")
    return run.has(key)


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:g}" if isinstance(x, (int, float)) else str(x)


def rows(run: RunData) -> tuple[list[str], list[list[str]]]:
    """The table as strings for report.html: (headers, one row a round)."""
    cols = columns(run)
    return [c.header for c in cols], [[c.cell(m) for c in cols] for m in run.rounds]


def summary_table(run: RunData, width: int | None = None) -> Table:
    """The round table for the terminal, narrowed to `width` characters by dropping minor columns."""
    cols = columns(run)
    cells = {id(c): [c.cell(m) for m in run.rounds] for c in cols}
    need = lambda cs: 1 + sum(3 + max(len(c.short), *map(len, cells[id(c)])) for c in cs)  # noqa: E731
    dropped = 0
    while width and need(cols) > width and max(c.rank for c in cols) > 0:
        worst = max(c.rank for c in cols)
        cols.remove([c for c in cols if c.rank == worst][-1])
        dropped += 1
    notes = [f"{dropped} more columns in report.html"] if dropped else []
    notes += [f"! {w}" for w in warnings(run)]
    table = Table(title=f"{run.name}: per round (held-out accuracy is greedy)",
                  caption="\n".join(notes) or None, caption_justify="left")
    for c in cols:
        table.add_column(c.short, justify="right", no_wrap=True)
    for i in range(len(run.rounds)):
        table.add_row(*(cells[id(c)][i] for c in cols))
    return table
