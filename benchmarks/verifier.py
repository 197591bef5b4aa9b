"""Closing the gap with learned verifiers (outcome verifier and process reward model), one seed, one task.

The comparison, per task (basic_arithmetic, chain_sum) and seed (0, 1, 2), then one table per task:

    for T in basic_arithmetic chain_sum; do for S in 0 1 2; do
      OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/verifier.py --prm --task $T --seed $S --out .bench/verifier-$T-$S
    done; done
    PYTHONPATH=src python benchmarks/verifier_seeds.py .bench/verifier-basic_arithmetic-{0,1,2}
    PYTHONPATH=src python benchmarks/verifier_seeds.py .bench/verifier-chain_sum-{0,1,2}

Without --prm (outcome verifier only, the 2-example few-shot prompt of recipes/default.yaml):

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/verifier.py --out .bench/verifier   # ~25 min, 2-core CPU

Samples `--k` attempts at T=0.7 for `--train-problems` training problems of `--task` (presets in TASKS:
basic_arithmetic 2 terms as recipes/default.yaml; chain_sum 2-3 one-digit terms) on `--model`, scores them
with the task's verifier and trains the outcome verifier (a one-logit head on the same model,
`train.verifier.train_verifier`) on them. With `--prm`, every prompt of the run (training attempts, step
continuations, held-out pool) shows the step-structured worked examples (`task.demos: steps`: running
partial sums, one line each), a balanced draw of `--label-samples` training attempts gets Monte-Carlo step
labels (`--label-k` continuations per step; their agreement with the exact step truth is reported) and the
process reward model trains on them (see _verifier_train.py). Then on `--eval-problems` held-out problems,
ONE shared pool of k samples per problem feeds: self-consistency@k; best-of-k and weighted vote by the
outcome verifier and (--prm) by the PRM (scorer `prm`: its weakest step); best-of-k by self-certainty and by
log-prob; the oracle (pass@k, an upper bound). Reported: each strategy's accuracy, the AUROC of every
scorer against the truth over all held-out samples (unparsed ones count as wrong), the learned scorers'
calibration (ECE, Brier), and per learned strategy its paired bootstrap difference from self-consistency@k.
Outputs under --out: the strategies' folders, summary.json, results.md, and (not committed) the training
files of _verifier_train.py. A rerun with the same settings reads those back instead of retraining.

Cost per seed on a CPU (2-core VM, one thread a run, commit 9df3282): with --prm 409-433 s with two runs at
once and 816-849 s with four (docs/results.md, "Learned verifiers"); the outcome verifier's training on
1,024 records is the largest part. The first run without --prm took ~25 min under a much heavier load.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from selftaught.core.errors import SelftaughtError  # noqa: E402
from selftaught.core.io import write_json  # noqa: E402
from selftaught.inference import Context, build_strategy  # noqa: E402
from selftaught.inference.runner import evaluate_strategy  # noqa: E402
from selftaught.metrics.calibration import brier_score, expected_calibration_error  # noqa: E402
from selftaught.metrics.exploit import auroc  # noqa: E402
from selftaught.metrics.stats import wilson_interval  # noqa: E402
from _verifier_train import TEMPERATURE, Lazy, check_settings, train_all  # noqa: E402
from strategies import paired_diff, slug  # noqa: E402
from verifier_seeds import markdown  # noqa: E402

TASKS = {
    "basic_arithmetic": {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]},
    "chain_sum": {"min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1},
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=list(TASKS), default="basic_arithmetic")
    ap.add_argument("--model", default="default", help="`default`, a Hub id or a local model folder")
    ap.add_argument("--prm", action="store_true",
                    help="step-structured prompts throughout, MC step labels, and the PRM's rows")
    ap.add_argument("--train-problems", type=int, default=64)
    ap.add_argument("--eval-problems", type=int, default=64)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--dpo", action="store_true",
                    help="also V-STaR's verifier (the model DPO-trained on (correct, incorrect) pairs of the attempts)")
    ap.add_argument("--label-samples", type=int, default=32, help="--prm: training attempts given step labels")
    ap.add_argument("--label-k", type=int, default=4, help="--prm: continuations sampled per step prefix")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dedupe", action="store_true", help="train on distinct (problem, text) pairs only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="fast")
    ap.add_argument("--out", type=Path, default=Path(".bench/verifier"))
    return ap.parse_args(argv)


def make_task(args):
    from selftaught.core.config import TaskConfig
    from selftaught.tasks import build_task

    return build_task(TaskConfig(name=args.task, options=TASKS[args.task], few_shot=2,
                                 demos="steps" if args.prm else "given"))


def learned(args) -> list[str]:
    """The learned scorers of this run."""
    return ["verifier", *(["prm"] if args.prm else []), *(["verifier_dpo"] if getattr(args, "dpo", False) else [])]


def plan(k: int, scorers: list[str]) -> list[tuple[str, str, dict]]:
    """(label, strategy, options) in run order; the first entry samples the shared pool."""
    rows = [(f"sample@{k}", "sample", {}), (f"self_consistency@{k}", "self_consistency", {})]
    for name in scorers:  # scorer `prm` aggregates by the weakest step; one loaded PRM serves both rows
        rows += [(f"best_of_n[{name}]@{k}", "best_of_n", {"scorer": name}),
                 (f"weighted_vote[{name}]@{k}", "weighted_vote", {"scorer": name})]
    return rows + [(f"best_of_n[self_certainty]@{k}", "best_of_n", {"scorer": "self_certainty"}),
                   (f"best_of_n[logprob]@{k}", "best_of_n", {"scorer": "logprob"}),
                   (f"best_of_n[oracle]@{k} (upper bound)", "best_of_n", {"scorer": "oracle"})]


def run_plan(task, generator, problems, ctx: Context, args) -> tuple[list[dict], dict[str, list[bool]]]:
    """Each strategy's row (accuracy, Wilson interval, pass@j) and per-problem correctness."""
    rows, correct = [], {}
    for label, strategy, opts in plan(args.k, learned(args)):
        cfg = build_strategy(strategy, {"n": args.k, "max_new_tokens": args.max_new_tokens, **opts})
        m = evaluate_strategy(task, generator, problems, cfg, args.out, label=slug(label), ctx=ctx)
        traces = (args.out / slug(label) / "traces.jsonl").read_text().splitlines()
        correct[label] = [bool(json.loads(x)["correct"]) for x in traces]
        solved = sum(correct[label])
        rows.append({"label": label, "accuracy": solved / len(problems), "ci": list(wilson_interval(solved, len(problems))),
                     **{key: v for key, v in m.items() if key.startswith("pass@")}})
        print(f"{label:40s} {100 * solved / len(problems):5.1f}%", flush=True)
    return rows, correct


def scorer_table(task, problems, ctx: Context, args) -> dict:
    """AUROC of each scorer over all the held-out pool's samples (unparsed count as wrong), and the learned
    scorers' calibration."""
    groups = ctx.pool(TEMPERATURE, 1.0, args.max_new_tokens).take(problems, args.k)
    flat_p = [p for p, g in zip(problems, groups) for _ in g]
    flat_s = [s for g in groups for s in g]
    truth = [task.score(p, s.text).verdict == "correct" for p, s in zip(flat_p, flat_s)]
    out = {"samples": len(flat_s), "correct_share": sum(truth) / len(truth)}
    for name in [*learned(args), "self_certainty", "logprob"]:
        values = ctx.scorer(name)(flat_p, flat_s)
        out[f"auroc_{name}"] = auroc(values, truth)
        if name in learned(args):
            out[f"ece_{name}"] = expected_calibration_error(values, truth)
            out[f"brier_{name}"] = brier_score(values, truth)
    return out


def evaluate(task, lazy: Lazy, args) -> dict:
    """The held-out part of the summary: strategies, scorers, paired differences, per-problem correctness."""
    problems = task.problems("eval", args.eval_problems, args.seed)
    paths = {"verifier_path": str(args.out / "verifier")}
    if args.prm:
        paths["prm_path"] = str(args.out / "prm")
    if args.dpo:
        paths["verifier_dpo_path"] = str(args.out / "verifier_dpo")
    generator = lazy.get()
    ctx = Context(task, generator, seed=args.seed, scorer_options=paths)
    rows, correct = run_plan(task, generator, problems, ctx, args)
    sc = correct[f"self_consistency@{args.k}"]
    paired = {label: paired_diff(c, sc) for label, c in correct.items()
              if any(f"[{name}]" in label for name in learned(args))}
    return {"strategies": rows, "scorers": scorer_table(task, problems, ctx, args), "paired_vs_sc": paired,
            "problem_ids": [p.id for p in problems], "correct": correct}


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    check_settings(args)
    task = make_task(args)
    start = time.time()
    lazy = Lazy(args.backend, args.model)  # the sampler's model is loaded only when something is sampled
    outcome, prm, vstar = train_all(task, lazy, args)
    print(f"verifiers ready ({time.time() - start:.0f}s): outcome loss {outcome.get('train/loss')}"
          + (f"; prm loss {prm['train'].get('train/loss')}, step labels {prm['step_labels']}" if prm else "")
          + (f"; V-STaR verifier {vstar}" if vstar else ""), flush=True)
    held_out = evaluate(task, lazy, args)
    summary = {"task": args.task, "task_options": TASKS[args.task], "task_version": task.version,
               "prompt_form": "steps" if args.prm else "given", "model": args.model, "k": args.k, "seed": args.seed,
               "args": {k: str(v) for k, v in vars(args).items()}, "backend": lazy.backend, "train": outcome,
               "prm": prm, "verifier_dpo": vstar, **held_out, "machine": platform.platform(),
               "seconds": round(time.time() - start, 1),
               "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=ROOT, check=False).stdout.strip()}
    write_json(args.out / "summary.json", summary)
    (args.out / "results.md").write_text(markdown([summary]) + "\n")
    print(json.dumps({k: summary[k] for k in ("scorers", "paired_vs_sc", "seconds")}, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        run(args)
    except SelftaughtError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
