"""The terminal table printed after every round."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..core.config import Config


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def round_table(rows: list[dict[str, Any]], cfg: Config) -> Table:
    k = cfg.sampling.n
    table = Table(title=f"{cfg.name}: held-out greedy accuracy (acc) per round; p@k, kept, unp(arsed) on the "
                        "round's training samples", title_justify="left")
    for col in ("round", "acc %", "95% CI", "p@1", f"p@{k}", "kept", "unp %", "T", "tokens", "sec"):
        table.add_column(col, justify="right", no_wrap=True)
    for m in rows:
        ci = f"{_pct(m['eval/accuracy_low'])}-{_pct(m['eval/accuracy_high'])}"
        tokens = m.get("rollout/tokens", 0) + m.get("train/tokens", 0)
        temperature = (m.get("settings") or {}).get("temperature") if m["round"] else None
        table.add_row(
            str(m["round"]), _pct(m["eval/accuracy"]), ci, _pct(m.get("rollout/pass@1")),
            _pct(m.get(f"rollout/pass@{k}")), str(m.get("select/kept", "-")),
            _pct(m.get("rollout/unparsed_rate", m.get("eval/unparsed_rate"))),
            "-" if temperature is None else f"{temperature:g}", f"{tokens:,}" if tokens else "-",
            f"{m.get('time/round', 0):.0f}")
    return table
