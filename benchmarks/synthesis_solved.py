"""Does synthesis help on the problems the model keeps failing? Read from a `selftaught compare` folder.

For each cell (run with `loop.fresh_problems=false`, so every round samples the same training problems):
the problems with no right answer among the first K samples of every round so far, and in the next
round the share of them solved (at least one right among its first K samples) and their mean share of
right samples (first K). Counting only the first K samples keeps a variant that samples more per problem
(the equal-compute baseline without synthesis) from looking better by having more tries. Synthesised
problems (ids with `~`) are left out. Per variant and round: the mean over seeds; per variant against
the baseline: the paired difference over seeds with its t interval.

    python benchmarks/synthesis_solved.py runs/compare-synth --baseline without --k 4
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from selftaught.experiments.analysis import paired_difference, verdict


def rounds_right(cell: Path, k: int) -> dict[int, dict[str, list[bool]]]:
    """round -> problem id -> verdicts of its first k samples (training problems only)."""
    out = {}
    for f in sorted(cell.glob("rounds/*/scores.jsonl")):
        right: dict[str, list[bool]] = defaultdict(list)
        for line in f.read_text().splitlines():
            s = json.loads(line)
            pid, idx = s["sample_id"].rsplit("#", 1)
            if "~" not in pid and int(idx) < k:
                right[pid].append(s["verdict"] == "correct")
        out[int(f.parent.name)] = right
    return out


def cell_figures(by_round: dict[int, dict[str, list[bool]]]) -> dict[int, tuple[int, float, float]]:
    """round r -> (problems failed in every round 1..r-1, share of them solved in r, their mean share right)."""
    out = {}
    for r in sorted(by_round):
        if r < 2 or 1 not in by_round:
            continue
        failed = [p for p in by_round[1] if all(not any(by_round[q].get(p, [True])) for q in range(1, r))]
        seen = [by_round[r][p] for p in failed if by_round[r].get(p)]
        solved = statistics.mean(any(v) for v in seen) if seen else 0.0
        share = statistics.mean(sum(v) / len(v) for v in seen) if seen else 0.0
        out[r] = (len(failed), solved, share)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--baseline", default="without")
    p.add_argument("--k", type=int, default=4, help="samples per problem and round counted (the smaller n)")
    args = p.parse_args(argv)
    res: dict[tuple[str, int], dict[int, tuple]] = defaultdict(dict)
    for cell in sorted(args.folder.glob("cells/*/seed*")):
        for r, fig in cell_figures(rounds_right(cell, args.k)).items():
            res[(cell.parent.name, r)][int(cell.name[4:])] = fig
    if not res:
        raise SystemExit(f"{args.folder}: no cell with two scored rounds")
    print("| variant | round | seeds | failed in every earlier round (mean) | solved % | mean share right % | solved % per seed |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for (v, r), by in sorted(res.items()):
        xs = list(by.values())
        print(f"| {v} | {r} | {len(xs)} | {statistics.mean(x[0] for x in xs):.1f} | "
              f"{100 * statistics.mean(x[1] for x in xs):.1f} | {100 * statistics.mean(x[2] for x in xs):.1f} | "
              + ", ".join(f"{100 * by[s][1]:.0f}" for s in sorted(by)) + " |")
    for (v, r), by in sorted(res.items()):
        base = res.get((args.baseline, r), {})
        seeds = sorted(set(by) & set(base))
        if v == args.baseline or len(seeds) < 2:
            continue
        for j, name in ((1, "solved"), (2, "share right")):
            iv = paired_difference([100 * by[s][j] for s in seeds], [100 * base[s][j] for s in seeds])
            print(f"round {r}, {name}: " + verdict(v, args.baseline, iv))


if __name__ == "__main__":
    main()
