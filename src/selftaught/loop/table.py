"""The terminal table printed after every round."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..core.config import Config


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def round_table(rows: list[dict[str, Any]], cfg: Config) -> Table:
    k = cfg.sampling.n
    table = Table(title=f"{cfg.name}: held-out greedy accuracy per round")
    for col in ("round", "held-out % [95% CI]", "train pass@1", f"train pass@{k}", "kept",
                "unparsed %", "tokens", "seconds"):
        table.add_column(col, justify="right")
    for m in rows:
        acc = f"{_pct(m['eval/accuracy'])} [{_pct(m['eval/accuracy_low'])}, {_pct(m['eval/accuracy_high'])}]"
        tokens = m.get("rollout/tokens", 0) + m.get("train/tokens", 0)
        table.add_row(
            str(m["round"]), acc, _pct(m.get("rollout/pass@1")), _pct(m.get(f"rollout/pass@{k}")),
            str(m.get("select/kept", "-")), _pct(m.get("rollout/unparsed_rate", m.get("eval/unparsed_rate"))),
            f"{tokens:,}" if tokens else "-", f"{m.get('time/round', 0):.0f}")
    return table
