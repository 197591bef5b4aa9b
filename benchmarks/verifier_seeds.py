"""Several seeds of benchmarks/verifier.py (same task, k, prompt form and model) as one Markdown table.

    PYTHONPATH=src python benchmarks/verifier_seeds.py .bench/verifier-chain_sum-0 .bench/verifier-chain_sum-1 \
        .bench/verifier-chain_sum-2 [--out table.md]

Each argument is a run's --out folder (or its summary.json). Printed: per strategy the mean accuracy over
the seeds with its 95% t interval; per scorer the mean AUROC; with --prm runs the step labels' agreement
with the exact step truth; and per learned strategy (best-of-k and vote by a learned verifier) its
difference from self-consistency@k: the mean over seeds with the paired 95% t interval (seeds paired),
the percentile interval of a paired bootstrap over all seeds' problems pooled, and whether it meets the
goal (at least +10 points with the t interval above 0). Summaries of different tasks, k, prompt forms or
models, or two of one seed, are refused (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from selftaught.core.errors import DataError, SelftaughtError  # noqa: E402
from selftaught.experiments.analysis import Interval, mean_interval, paired_bootstrap, paired_difference, verdict  # noqa: E402

SAME = ("task", "k", "prompt_form", "model")  # what must agree for seeds to be pooled
LEARNED = ("[verifier]", "[prm]", "[verifier_dpo]")
GOAL = 10.0  # points over self-consistency@k, with the paired interval above 0


def load(paths: list[str]) -> list[dict]:
    """The summaries at `paths` (folders or files), checked to be seeds of one comparison (DataError if not)."""
    out = []
    for p in map(Path, paths):
        file = p / "summary.json" if p.is_dir() else p
        if not file.is_file():
            raise DataError(f"{p}: no summary.json there; give the --out folders of benchmarks/verifier.py runs.")
        s = json.loads(file.read_text())
        missing = [key for key in (*SAME, "seed", "strategies", "scorers") if key not in s]
        if missing:
            raise DataError(f"{file}: no {', '.join(missing)}; it was written by an older benchmarks/verifier.py. "
                            "Rerun it with the current one.")
        out.append(s)
    for key in SAME:
        values = {json.dumps(s[key]) for s in out}
        if len(values) > 1:
            raise DataError(f"the summaries differ in `{key}` ({', '.join(sorted(values))}); a table pools seeds of "
                            f"one comparison: give the folders of one {key} at a time.")
    seeds = [s["seed"] for s in out]
    if len(set(seeds)) < len(seeds):
        raise DataError(f"two summaries have the same seed ({seeds}); each seed counts once in the intervals.")
    labels = {tuple(r["label"] for r in s["strategies"]) for s in out}
    if len(labels) > 1:
        raise DataError("the summaries ran different strategies; rerun them with the same benchmarks/verifier.py.")
    return out


def _iv(iv: Interval | None, scale: float = 100.0, fmt: str = ".1f") -> tuple[str, str]:
    if iv is None:
        return "-", "-"
    ci = "-" if iv.low is None else f"[{scale * iv.low:{fmt}}, {scale * iv.high:{fmt}}]"
    return f"{scale * iv.mean:{fmt}}", ci


def _mean(values) -> Interval | None:
    values = [v for v in values if v is not None]
    return mean_interval(values) if values else None


def strategy_rows(summaries: list[dict]) -> list[str]:
    lines = ["| strategy | accuracy % (mean) | 95% t interval | per seed |", "|---|---|---|---|"]
    for i, row in enumerate(summaries[0]["strategies"]):
        acc = [s["strategies"][i]["accuracy"] for s in summaries]
        mean, ci = _iv(_mean(acc))
        lines.append(f"| {row['label']} | {mean} | {ci} | {', '.join(f'{100 * a:.1f}' for a in acc)} |")
    return lines


def scorer_rows(summaries: list[dict]) -> list[str]:
    lines = ["| scorer | AUROC (mean) | 95% t interval | per seed |", "|---|---|---|---|"]
    for key in (k for k in summaries[0]["scorers"] if k.startswith("auroc_")):
        values = [s["scorers"].get(key) for s in summaries]
        mean, ci = _iv(_mean(values), 1.0, ".3f")
        per = ", ".join("-" if v is None else f"{v:.3f}" for v in values)
        lines.append(f"| {key.removeprefix('auroc_')} | {mean} | {ci} | {per} |")
    return lines


def label_rows(summaries: list[dict]) -> list[str]:
    """The PRM's step labels against the exact step truth (runs with --prm on a task that has one)."""
    stats = [(s.get("prm") or {}).get("step_labels") or {} for s in summaries]
    if not any("truth_agreement" in x for x in stats):
        return []
    lines = ["| step labels vs exact truth | mean | per seed |", "|---|---|---|"]
    names = {"truth_agreement": "steps labelled as the truth says", "wrong_caught": "truly wrong steps labelled wrong",
             "first_error_exact": "first error found exactly", "correct_share": "steps labelled right"}
    for key, name in names.items():
        values = [x.get(key) for x in stats]
        mean, _ = _iv(_mean(values))
        lines.append(f"| {name} % | {mean} | {', '.join('-' if v is None else f'{100 * v:.1f}' for v in values)} |")
    return lines


def pooled_bootstrap(summaries: list[dict], label: str, base: str) -> str:
    """The paired bootstrap 95% interval (points) of `label` - `base` over every seed's problems pooled."""
    if not all("correct" in s for s in summaries):
        return "-"
    a = [x for s in summaries for x in s["correct"][label]]
    b = [x for s in summaries for x in s["correct"][base]]
    pooled = paired_bootstrap(a, b)
    return "-" if pooled is None else f"[{100 * pooled[0]:.1f}, {100 * pooled[1]:.1f}]"


def paired_rows(summaries: list[dict]) -> list[str]:
    base = f"self_consistency@{summaries[0]['k']}"
    acc = {r["label"]: [s["strategies"][i]["accuracy"] for s in summaries]
           for i, r in enumerate(summaries[0]["strategies"])}
    lines = [(f"| strategy - {base} | points (mean) | paired t 95% (seeds) | pooled bootstrap 95% (problems) | "
              f"goal +{GOAL:.0f} | verdict |"), "|---|---|---|---|---|---|"]
    for label in (x for x in acc if any(t in x for t in LEARNED)):
        iv = paired_difference([100 * a for a in acc[label]], [100 * b for b in acc[base]])
        mean, ci = _iv(iv, 1.0)
        met = iv.mean >= GOAL and iv.low is not None and iv.low > 0
        lines.append(f"| {label} | {mean} | {ci} | {pooled_bootstrap(summaries, label, base)} | "
                     f"{'met' if met else 'not met'} | {verdict(label, base, iv)} |")
    return lines


def markdown(summaries: list[dict]) -> str:
    s0 = summaries[0]
    seeds = ", ".join(str(s["seed"]) for s in summaries)
    head = (f"{s0['task']}, prompt form `{s0['prompt_form']}`, model `{s0['model']}`, k={s0['k']}, "
            f"seeds {seeds}, {len(s0.get('problem_ids') or []) or '?'} held-out problems per seed")
    parts = [head, "\n".join(strategy_rows(summaries)), "\n".join(scorer_rows(summaries)),
             "\n".join(label_rows(summaries)), "\n".join(paired_rows(summaries))]
    return "\n\n".join(p for p in parts if p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="--out folders of benchmarks/verifier.py (or their summary.json)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)
    try:
        table = markdown(load(args.runs))
    except SelftaughtError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
