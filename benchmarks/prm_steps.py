"""A trained process reward model's step scores against the exact step truth, beside the Monte-Carlo labels
it was trained on. Reads the output folders of `benchmarks/verifier.py --prm` (their PRM, step labels and
held-out pool); samples nothing.

    PYTHONPATH=src python benchmarks/prm_steps.py .bench/verifier-chain_sum-{0,1,2} --out .bench/prm-steps-chain_sum.json

Per folder and pooled over the folders, on three sets of steps:
  - `mc labels (train draw)`: the Monte-Carlo hard labels of the balanced training draw (what the PRM learned);
  - `prm (train draw)`: the PRM's step scores on those same steps (how well it fit its own data);
  - `prm (held-out pool)`: the PRM's step scores on every step of the held-out pool's samples (k per problem;
    a repeated (question, solution) counts each time it was sampled).
For each: steps and the share truly right; accuracy of the hard call (score >= 0.5 means right) against the
truth, beside the accuracy of calling every step the truth's more common class (a constant); the share of
truly wrong steps called wrong and of truly right ones called right; the AUROC of the scores against the
truth (a hard label's AUROC is its balanced accuracy); and, over the solutions with a wrong step, how often
the first step called wrong is exactly the first truly wrong one, earlier, later, or absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from selftaught.core.records import Problem  # noqa: E402
from selftaught.metrics.exploit import auroc  # noqa: E402
from selftaught.metrics.step_labels import first_error_places  # noqa: E402

SETS = ("mc labels (train draw)", "prm (train draw)", "prm (held-out pool)")


def step_metrics(scores: list[list[float]], truth: list[list[bool]]) -> dict:
    """Agreement of per-step scores (>= 0.5: right) with the exact per-step truth, one list per solution.

    >>> m = step_metrics([[0.9, 0.2], [0.8, 0.7]], [[True, False], [True, False]])
    >>> m["steps"], m["accuracy"], m["wrong_caught"], m["right_passed"], m["first_error"]
    (4, 0.75, 0.5, 1.0, {'exact': 0.5, 'early': 0.0, 'late': 0.0, 'missed': 0.5, 'solutions': 2})
    """
    flat_s = [float(x) for row in scores for x in row]
    flat_t = [bool(x) for row in truth for x in row]
    if len(flat_s) != len(flat_t) or any(len(a) != len(b) for a, b in zip(scores, truth)):
        raise ValueError("step_metrics: scores and truth must have the same shape")
    n = len(flat_t)
    right = sum(flat_t)
    called = [x >= 0.5 for x in flat_s]
    wrong_steps = [c for c, t in zip(called, flat_t) if not t]
    right_steps = [c for c, t in zip(called, flat_t) if t]
    return {"steps": n, "truly_right": right / n if n else None,
            "accuracy": sum(c == t for c, t in zip(called, flat_t)) / n if n else None,
            "constant_accuracy": max(right, n - right) / n if n else None,
            "wrong_caught": sum(not c for c in wrong_steps) / len(wrong_steps) if wrong_steps else None,
            "right_passed": sum(right_steps) / len(right_steps) if right_steps else None,
            "auroc": auroc(flat_s, flat_t) if 0 < right < n else None,
            "first_error": first_errors(scores, truth)}


def first_errors(scores: list[list[float]], truth: list[list[bool]]) -> dict:
    """Over solutions with a truly wrong step: the first step scored < 0.5 is exactly the first wrong one,
    earlier, later, or there is none (missed; `metrics.step_labels.first_error_places` counts it as late)."""
    pairs = [(next((i for i, x in enumerate(row) if x < 0.5), None), next(i for i, x in enumerate(t) if not x))
             for row, t in zip(scores, truth) if not all(t)]
    if not pairs:
        return {"solutions": 0}
    found, true_first = [f for f, _ in pairs], [t for _, t in pairs]
    places = first_error_places(found, true_first)
    missed = sum(f is None for f in found) / len(pairs)
    return {**places, "late": places["late"] - missed, "missed": missed, "solutions": len(pairs)}


def pool_steps(folder: Path, task, problems: dict[str, Problem]) -> tuple[list[Problem], list[list[str]], list[list[bool]]]:
    """Every held-out pool sample's (problem, steps, exact truth), from the `sample@k` strategy's traces."""
    from selftaught.tasks.step_truth import step_truth_for
    from selftaught.tasks.steps import split_steps, step_separator

    truth_fn, sep = step_truth_for(task), step_separator(task)
    [traces] = folder.glob("sample@*/traces.jsonl")
    probs, steps, truth = [], [], []
    for line in traces.read_text().splitlines():
        row = json.loads(line)
        problem = problems[row["problem_id"]]
        for sample in row["trace"]:
            parts = split_steps(sample["text"], sep)
            exact = truth_fn(problem.meta, problem.answer, parts) if parts else None
            if exact is not None:
                probs.append(problem)
                steps.append(parts)
                truth.append(exact.labels)
    return probs, steps, truth


def folder_sets(folder: Path) -> dict[str, tuple[list[list[float]], list[list[bool]]]]:
    """(scores, truth) of the three step sets of one verifier.py --prm output folder."""
    import verifier as bench
    from selftaught.scoring.learned import LearnedVerifier

    summary = json.loads((folder / "summary.json").read_text())
    args = argparse.Namespace(task=summary["task"], prm=True)
    task = bench.make_task(args)
    problems = {p.id: p for p in task.problems("eval", len(summary["problem_ids"]), summary["seed"])}
    if list(problems) != summary["problem_ids"]:
        raise SystemExit(f"{folder}: the held-out problems rebuilt here differ from the run's (task version?)")
    prm = LearnedVerifier(folder / "prm", kind="prm")
    records = [json.loads(x) for x in (folder / "step_labels.jsonl").read_text().splitlines() if x.strip()]
    records = [r for r in records if r.get("truth") is not None]
    train_problems = [Problem(r["problem_id"], r["prompt"], None, {}) for r in records]
    train_steps = [r["completions"] for r in records]
    train_truth = [[bool(x) for x in r["truth"]] for r in records]
    pool_p, pool_s, pool_t = pool_steps(folder, task, problems)
    return {SETS[0]: ([[float(x) for x in r["labels"]] for r in records], train_truth),
            SETS[1]: (prm.step_scores(train_problems, train_steps), train_truth),
            SETS[2]: (prm.step_scores(pool_p, pool_s), pool_t)}


def markdown(rows: list[dict]) -> str:
    head = ("| steps | folder | steps (truly right) | accuracy (constant) | wrong caught | right passed | AUROC "
            "| first error exact / early / late / missed |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        m, fe = r["metrics"], r["metrics"]["first_error"]
        pct = lambda x: "-" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        firsts = " / ".join(pct(fe.get(k)) for k in ("exact", "early", "late", "missed")) + f" (of {fe['solutions']})"
        lines.append(f"| {r['set']} | {r['folder']} | {m['steps']} ({pct(m['truly_right'])}) | {pct(m['accuracy'])} "
                     f"({pct(m['constant_accuracy'])}) | {pct(m['wrong_caught'])} | {pct(m['right_passed'])} | "
                     f"{'-' if m['auroc'] is None else format(m['auroc'], '.3f')} | {firsts} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+", type=Path, help="output folders of benchmarks/verifier.py --prm")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    for folder in args.folders:
        if not (folder / "prm" / "verifier.json").is_file() or not (folder / "summary.json").is_file():
            print(f"error: {folder} is not a finished `benchmarks/verifier.py --prm` output (no prm/ or summary.json)",
                  file=sys.stderr)
            return 2
    per = {str(f): folder_sets(f) for f in args.folders}
    rows = []
    for name in SETS:
        for folder, sets in per.items():
            rows.append({"set": name, "folder": Path(folder).name, "metrics": step_metrics(*sets[name])})
        if len(per) > 1:
            pooled = ([x for s in per.values() for x in s[name][0]], [x for s in per.values() for x in s[name][1]])
            rows.append({"set": name, "folder": "pooled", "metrics": step_metrics(*pooled)})
    print(markdown(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
