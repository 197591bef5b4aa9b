"""Per-round means over seeds of any round metric in a `selftaught compare` folder, as a Markdown table.

`selftaught compare` reports the final held-out accuracy and its learning curve; this prints the
per-round means of other metrics too (training pass@k, distinct correct answers, kept records, bstar's
chosen temperature), which is how exploration over the rounds is read from a grid:

    python benchmarks/compare_rounds.py runs/compare-loops
    python benchmarks/compare_rounds.py runs/compare-loops --metrics eval/accuracy,rollout/pass@1

The ratio column `pass@k/pass@1` is the mean over cells of each cell's own ratio (k = sampling.n, read
from the round's `rollout/pass@K` keys). Cells are read from FOLDER/cells/VARIANT/seedN/rounds/*/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

DEFAULT = ("eval/accuracy,rollout/pass@1,rollout/pass@k,pass@k/pass@1,rollout/distinct_correct_answers,"
           "select/kept,control/temperature")
PERCENT = ("eval/accuracy", "rollout/pass@1", "rollout/pass@k")


def top_pass_key(m: dict) -> str | None:
    """The round's largest pass@K key (K = sampling.n)."""
    ks = [k for k in m if k.startswith("rollout/pass@") and k.split("@")[1].isdigit()]
    return max(ks, key=lambda k: int(k.split("@")[1]), default=None)


def value(m: dict, name: str) -> float | None:
    if name == "rollout/pass@k":
        key = top_pass_key(m)
        return m.get(key) if key else None
    if name == "pass@k/pass@1":
        key, p1 = top_pass_key(m), m.get("rollout/pass@1")
        return m[key] / p1 if key and p1 else None
    v = m.get(name)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def read(folder: Path) -> dict[tuple[str, int], list[dict]]:
    rows: dict[tuple[str, int], list[dict]] = {}
    for cell in sorted(folder.glob("cells/*/seed*")):
        for f in sorted(cell.glob("rounds/*/metrics.json")):
            m = json.loads(f.read_text())
            rows.setdefault((cell.parent.name, int(m["round"])), []).append(m)
    return rows


def table(rows: dict[tuple[str, int], list[dict]], metrics: list[str]) -> str:
    lines = ["| variant | round | cells | " + " | ".join(metrics) + " |", "|---|---:|---:|" + "---:|" * len(metrics)]
    for (variant, r), ms in sorted(rows.items()):
        cols = []
        for name in metrics:
            xs = [x for x in (value(m, name) for m in ms) if x is not None]
            if not xs:
                cols.append("-")
                continue
            mean = statistics.mean(xs)
            cols.append(f"{100 * mean:.1f}" if name in PERCENT else f"{mean:.2f}")
        lines.append(f"| {variant} | {r} | {len(ms)} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="a `selftaught compare` folder")
    p.add_argument("--metrics", default=DEFAULT, help="comma-separated round metrics (percent for accuracies)")
    args = p.parse_args(argv)
    rows = read(args.folder)
    if not rows:
        raise SystemExit(f"{args.folder}: no finished rounds under cells/*/seed*/rounds")
    print(table(rows, args.metrics.split(",")))


if __name__ == "__main__":
    main()
