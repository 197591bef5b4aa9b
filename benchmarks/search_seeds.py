"""Several seeds of benchmarks/search.py (same N settings, step scorer and problem count) as one Markdown table.

    PYTHONPATH=src python benchmarks/search_seeds.py runs/bench-search-{0,1,2} [--out table.md]

Each argument is a run's --out folder. Per N and strategy: the mean accuracy over the seeds with its 95% t
interval and the per-seed values, generated and scored tokens per problem (means), and the difference from
self-consistency at the same N: the mean over seeds with the paired 95% t interval (seeds paired) and the
percentile interval of a paired bootstrap over all seeds' problems pooled. Runs of different settings, or two
of one seed, are refused (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from selftaught.core.errors import DataError  # noqa: E402
from selftaught.experiments.analysis import mean_interval, paired_bootstrap, paired_difference  # noqa: E402

SAME = ("problems", "ns", "beam_width", "prm", "aggregate")  # what must agree for seeds to be pooled
BASE = "self_consistency"


def load(folder: Path) -> dict:
    """A run's summary plus, per (N, strategy), its per-problem correctness from the traces."""
    path = folder / "summary.json"
    if not path.is_file():
        raise DataError(f"{folder}: no summary.json; give the --out folders of finished benchmarks/search.py runs.")
    summary = json.loads(path.read_text())
    summary["meta"].setdefault("prm", "step_logprob")  # runs from before --prm used the default scorer
    summary["meta"].setdefault("aggregate", "last")
    for row in summary["rows"]:
        traces = folder / f"n{row['n_setting']}" / row["family"] / "traces.jsonl"
        row["correct"] = [bool(json.loads(x)["correct"]) for x in traces.read_text().splitlines() if x.strip()]
    return summary


def check(runs: list[dict]) -> None:
    for key in SAME:
        values = {json.dumps(r["meta"].get(key)) for r in runs}
        if len(values) > 1:
            raise DataError(f"the runs differ in `{key}` ({', '.join(sorted(values))}); pool seeds of one setting.")
    seeds = [r["meta"]["seed"] for r in runs]
    if len(set(seeds)) < len(seeds):
        raise DataError(f"two runs have the same seed ({seeds}); each seed counts once.")


def fmt(iv, scale: float = 100.0) -> str:
    if iv is None or iv.low is None:
        return "-" if iv is None else f"{scale * iv.mean:+.1f}"
    return f"{scale * iv.mean:+.1f} [{scale * iv.low:+.1f}, {scale * iv.high:+.1f}]"


def table(runs: list[dict]) -> str:
    meta = runs[0]["meta"]
    lines = [f"{len(runs)} seeds ({', '.join(str(r['meta']['seed']) for r in runs)}), {meta['problems']} problems each, "
             f"step scorer `{meta['prm']}` (aggregate {meta['aggregate']})", "",
             "| N | strategy | accuracy % (mean) [95% t] | per seed | generated tok/problem | scored tok/problem "
             f"| - {BASE}, points: paired t (seeds) | pooled bootstrap (problems) |",
             "|---:|---|---|---|---:|---:|---|---|"]
    for i, row in enumerate(runs[0]["rows"]):
        n, family = row["n_setting"], row["family"]
        rows = [r["rows"][i] for r in runs]
        if any((x["n_setting"], x["family"]) != (n, family) for x in rows):
            raise DataError("the runs ran different strategies; rerun them with the same benchmarks/search.py.")
        base = [next(x for x in r["rows"] if x["n_setting"] == n and x["family"] == BASE) for r in runs]
        acc = mean_interval([x["accuracy"] for x in rows])
        scored = [x.get("scored_tokens/problem") for x in rows]
        if family == BASE:
            diff = pooled = "-"
        else:
            diff = fmt(paired_difference([x["accuracy"] for x in rows], [b["accuracy"] for b in base]))
            boot = paired_bootstrap([c for x in rows for c in x["correct"]], [c for b in base for c in b["correct"]])
            pooled = "-" if boot is None else f"[{100 * boot[0]:+.1f}, {100 * boot[1]:+.1f}]"
        ci = "" if acc.low is None else f" [{100 * acc.low:.1f}, {100 * acc.high:.1f}]"
        per = ", ".join(f"{100 * x['accuracy']:.1f}" for x in rows)
        lines.append(f"| {n} | {family} | {100 * acc.mean:.1f}{ci} | {per} "
                     f"| {sum(x['tokens/problem'] for x in rows) / len(rows):.1f} "
                     f"| {'-' if None in scored else f'{sum(scored) / len(scored):.1f}'} | {diff} | {pooled} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    try:
        runs = [load(f) for f in args.folders]
        check(runs)
        text = table(runs)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
