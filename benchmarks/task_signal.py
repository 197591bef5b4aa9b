"""Is a reported gain real? Held-out accuracy per round beside the constant-answer baselines, the answer
entropy, truncation and double-answer rates and the collapse verdict, for the cells of `selftaught compare`
folders (one folder per task; variants such as task.demos=bare / given).

    python benchmarks/task_signal.py runs/compare-gcd runs/compare-leg_counting ...   # markdown table

A cell's row reads its rounds' metrics.json: `eval/accuracy` (95% Wilson interval at the last round),
`eval/const_gold_acc` (always the most common gold answer), `eval/const_model_acc` at the last round (always
the model's own most common answer), `eval/answer_entropy` and `eval/top_answer_share` at the last round,
the largest `eval/truncated_rate` and `rollout/truncated_rate` and `eval/conflict_rate` over the rounds, and
`eval/collapse` per round. A gain is "real" when the last round's interval lies above both constant baselines
and above round 0's accuracy; the warning column says why the collapse check fired in the last round (one
answer on over half the problems, or accuracy within the interval of a constant answer).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def rounds_of(cell: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((cell / "rounds").glob("*/metrics.json")):
        out.append(json.loads(path.read_text()))
    return out


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def verdict(first: dict, last: dict) -> str:
    """`real gain` (the last round's interval above both constant baselines and round 0) or `no clear gain`,
    plus why the collapse check fired in the last round, if it did."""
    low = last.get("eval/accuracy_low", 0.0)
    baselines = max(last.get("eval/const_gold_acc", 0.0), last.get("eval/const_model_acc", 0.0),
                    first.get("eval/accuracy", 0.0))
    out = "real gain" if low > baselines else "no clear gain"
    if last.get("eval/collapse"):
        dominant = (last.get("eval/top_answer_share") or 0.0) > 0.5
        out += "; warning: " + ("one answer on over half the problems" if dominant else
                                "no better than a constant answer")
    return out


def cell_row(task: str, variant: str, seed: str, ms: list[dict]) -> str:
    first, last = ms[0], ms[-1]
    accs = " -> ".join(pct(m.get("eval/accuracy")) for m in ms)
    interval = f"[{pct(last.get('eval/accuracy_low'))}, {pct(last.get('eval/accuracy_high'))}]"
    trunc = max(max(m.get("eval/truncated_rate", 0.0) or 0.0, m.get("rollout/truncated_rate", 0.0) or 0.0) for m in ms)
    conflict = max(max(m.get("eval/conflict_rate", 0.0) or 0.0, m.get("rollout/conflict_rate", 0.0) or 0.0) for m in ms)
    collapsed = "".join("C" if m.get("eval/collapse") else "." for m in ms)
    return (f"| {task} | {variant} | {seed} | {accs} {interval} | {pct(last.get('eval/const_gold_acc'))} | "
            f"{pct(last.get('eval/const_model_acc'))} | {last.get('eval/answer_entropy', 0):.2f} | "
            f"{pct(last.get('eval/top_answer_share'))} | {pct(trunc)} | {pct(conflict)} | {collapsed} | "
            f"{verdict(first, last)} |")


def table(folders: list[Path]) -> str:
    lines = ["| task | variant | seed | held-out accuracy % by round [last round's 95% interval] | const gold % | "
             "const model % | answer entropy (bits) | top answer share % | truncated % (max) | two answers % (max) | "
             "collapse per round | verdict |", "|" + "---|" * 12]
    for folder in folders:
        task = folder.name.split("-", 1)[-1]
        for cell in sorted(folder.glob("cells/*/seed*")):
            ms = rounds_of(cell)
            if ms:
                lines.append(cell_row(task, cell.parent.name, cell.name.removeprefix("seed"), ms))
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", type=Path, help="compare folders (one per task)")
    print(table(p.parse_args(argv).folders))


if __name__ == "__main__":
    main()
