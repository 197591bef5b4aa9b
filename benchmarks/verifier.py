"""Closing the gap with a learned outcome verifier, on the default model and task (one seed).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/verifier.py --out .bench/verifier   # ~25 min, 2-core CPU

Samples `--k` attempts at T=0.7 for `--train-problems` training problems of the default task
(basic_arithmetic, 2 terms, as recipes/default.yaml), scores them with the task's verifier, trains the
outcome verifier (a one-logit head on the default model, `train.verifier.train_verifier`) on them, then
on `--eval-problems` held-out problems compares, on ONE shared pool of k samples per problem:
best-of-k by the verifier, weighted vote by the verifier, self-consistency@k, best-of-k by
self-certainty and by log-prob, and the oracle (pass@k, an upper bound); with the AUROC of every scorer
against the truth over the held-out samples, the verifier's calibration (ECE, Brier), and paired
bootstrap intervals of best-of-k[verifier] minus self-consistency@k. Outputs under --out: the strategies'
folders, verifier/ (the trained model; not committed), summary.json and results.md.
"""

from __future__ import annotations

import argparse
import gc
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

from selftaught.core.io import read_jsonl, write_json, write_jsonl  # noqa: E402
from selftaught.core.records import Sample, from_dict  # noqa: E402
from selftaught.inference import Context, build_strategy  # noqa: E402
from selftaught.inference.runner import evaluate_strategy  # noqa: E402
from selftaught.metrics.calibration import brier_score, expected_calibration_error  # noqa: E402
from selftaught.metrics.exploit import auroc  # noqa: E402
from selftaught.metrics.stats import wilson_interval  # noqa: E402
from selftaught.train.prm import VerifierTrainConfig  # noqa: E402
from selftaught.train.verifier import is_trained, outcome_records, train_verifier  # noqa: E402
from strategies import make_generator, paired_diff  # noqa: E402

OPTIONS = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]}


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train-problems", type=int, default=64)
    ap.add_argument("--eval-problems", type=int, default=64)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dedupe", action="store_true", help="train on distinct (problem, text) pairs only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="fast")
    ap.add_argument("--out", type=Path, default=Path(".bench/verifier"))
    return ap.parse_args()


class Lazy:
    """The generator, built on first use (training the verifier first needs no sampler in memory)."""

    def __init__(self, backend: str):
        self.backend, self.generator = backend, None

    def get(self):
        if self.generator is None:
            self.generator, self.backend = make_generator(self.backend, 64)
        return self.generator


def train_pool(task, generator: Lazy, args, out: Path) -> dict:
    """Sample k attempts per training problem, score them, train the outcome verifier (skipped if saved)."""
    folder = out / "verifier"
    if is_trained(folder):
        return json.loads((folder / "verifier.json").read_text())["metrics"]
    problems = task.problems("train", args.train_problems, args.seed)
    cache = out / "train_samples.jsonl"
    if cache.exists():  # an earlier run's pool (same settings): sampling is deterministic, this only saves time
        samples = [from_dict(Sample, d) for d in read_jsonl(cache)]
    else:
        ctx = Context(task, generator.get(), seed=args.seed + 1)
        samples = [s for g in ctx.pool(0.7, 1.0, args.max_new_tokens).take(problems, args.k) for s in g]
        write_jsonl(cache, samples)
        generator.generator = None  # free the sampler's memory while the verifier trains
        gc.collect()
    by_id = {p.id: p for p in problems}
    scores = [task.score(by_id[s.problem_id], s.text) for s in samples]
    records = outcome_records(problems, samples, scores, dedupe=args.dedupe)
    print(f"train pool: {len(samples)} samples ({sum(s.correct for s in scores)} correct), {len(records)} records "
          f"({sum(r['labels'][0] for r in records)} correct)", flush=True)
    cfg = VerifierTrainConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size)
    result = train_verifier("default", records, "outcome", folder, cfg, seed=args.seed)
    return result.metrics()


def scorer_table(task, problems, ctx: Context, k: int, max_new_tokens: int) -> dict:
    """AUROC of each scorer over the held-out pool's parsed samples, and the verifier's calibration."""
    groups = ctx.pool(0.7, 1.0, max_new_tokens).take(problems, k)
    flat_p = [p for p, g in zip(problems, groups) for _ in g]
    flat_s = [s for g in groups for s in g]
    truth = [task.score(p, s.text).verdict == "correct" for p, s in zip(flat_p, flat_s)]
    out = {"samples": len(flat_s), "correct_share": sum(truth) / len(truth)}
    for name in ("verifier", "self_certainty", "logprob"):
        values = ctx.scorer(name)(flat_p, flat_s)
        out[f"auroc_{name}"] = auroc(values, truth)
        if name == "verifier":
            out["ece_verifier"] = expected_calibration_error(values, truth)
            out["brier_verifier"] = brier_score(values, truth)
    return out


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    from selftaught.tasks import ReasoningGymTask

    args.out.mkdir(parents=True, exist_ok=True)
    task = ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=2)
    start = time.time()
    lazy = Lazy(args.backend)  # the sampler's model is loaded only when something is sampled
    train_metrics = train_pool(task, lazy, args, args.out)
    generator, backend = lazy.get(), lazy.backend
    print(f"verifier trained: {train_metrics}  ({time.time() - start:.0f}s)", flush=True)
    problems = task.problems("eval", args.eval_problems, args.seed)
    ctx = Context(task, generator, seed=args.seed, scorer_options={"verifier_path": str(args.out / "verifier")})
    k = args.k
    plan = [(f"sample@{k}", "sample", {}), (f"self_consistency@{k}", "self_consistency", {}),
            (f"best_of_n[verifier]@{k}", "best_of_n", {"scorer": "verifier"}),
            (f"weighted_vote[verifier]@{k}", "weighted_vote", {"scorer": "verifier"}),
            (f"best_of_n[self_certainty]@{k}", "best_of_n", {"scorer": "self_certainty"}),
            (f"best_of_n[logprob]@{k}", "best_of_n", {"scorer": "logprob"}),
            (f"best_of_n[oracle]@{k} (upper bound)", "best_of_n", {"scorer": "oracle"})]
    rows, correct = [], {}
    for label, strategy, opts in plan:
        cfg = build_strategy(strategy, {"n": k, "max_new_tokens": args.max_new_tokens, **opts})
        m = evaluate_strategy(task, generator, problems, cfg, args.out, label=label.replace("[", "-").replace("]", ""),
                              ctx=ctx)
        folder = args.out / label.replace("[", "-").replace("]", "")
        correct[label] = [json.loads(x)["correct"] for x in (folder / "traces.jsonl").read_text().splitlines()]
        solved = sum(correct[label])
        rows.append({"label": label, "accuracy": solved / len(problems), "ci": list(wilson_interval(solved, len(problems))),
                     **{key: v for key, v in m.items() if key.startswith("pass@")}})
        print(f"{label:40s} {100 * solved / len(problems):5.1f}%", flush=True)
    summary = {"args": {k2: str(v) for k2, v in vars(args).items()}, "backend": backend, "train": train_metrics,
               "strategies": rows, "scorers": scorer_table(task, problems, ctx, k, args.max_new_tokens),
               "verifier_minus_sc": paired_diff(correct[f"best_of_n[verifier]@{k}"], correct[f"self_consistency@{k}"]),
               "vote_minus_sc": paired_diff(correct[f"weighted_vote[verifier]@{k}"], correct[f"self_consistency@{k}"]),
               "machine": platform.platform(), "seconds": round(time.time() - start, 1),
               "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=ROOT).stdout.strip()}
    write_json(args.out / "summary.json", summary)
    print(json.dumps({k2: summary[k2] for k2 in ("scorers", "verifier_minus_sc", "vote_minus_sc", "seconds")}, indent=1))


if __name__ == "__main__":
    main()
