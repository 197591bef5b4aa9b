"""Test-time strategies at matched token budgets on the default model and three reasoning-gym tasks.

    python benchmarks/strategies.py                       # defaults: ~33 min on 2 CPU cores shared with other jobs
    python benchmarks/strategies.py --problems 24         # ~25 min there
    python benchmarks/strategies.py --problems 8 --k 4    # a quick smoke run

Time goes almost all to generation (the k-sample pools, then critiques/revisions and judge passes); with
`--reuse DIR` an earlier run's greedy decodes and pools (same settings) are read back instead.

For each task, the same `--problems` held-out problems (2-example few-shot prompt) go through every
strategy in one `Context`, so samples are shared where legitimate: one pool of k samples per problem
at temperature 0.7 feeds `sample` (pass@k), self-consistency@{2,4,..,k} (the first j samples),
weighted votes, best-of-N and adaptive consistency (which reads the pool in order, 2 at a time); the
greedy decode is the starting answer of self-refine. Every strategy is charged for all the tokens it
read. Outputs under --out: per task the runner's folders (traces.jsonl, metrics.json) and a plot;
overall `summary.json`, `accuracy_vs_tokens.png` (problems pooled over tasks) and `results.md`.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from selftaught.core.io import write_json  # noqa: E402
from selftaught.core.records import Sample  # noqa: E402
from selftaught.inference import Context, build_strategy  # noqa: E402
from selftaught.inference.report import TRANSITIONS, plot_accuracy_vs_tokens  # noqa: E402
from selftaught.inference.runner import evaluate_strategy, write_comparison  # noqa: E402
from selftaught.metrics import wilson_interval  # noqa: E402

TASKS = {
    "basic_arithmetic": {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]},
    "gcd": {"min_value": 1, "max_value": 20},
    "letter_counting": {"min_words": 3, "max_words": 5},
}


def plan(k: int, judge_n: int, rounds: int) -> list[tuple[str, str, dict]]:
    """(label, strategy, options) in run order; the first entry generates the shared pool."""
    pooled = {"n": k}
    runs = [(f"sample@{k}", "sample", pooled), ("greedy", "greedy", {})]
    j = 2
    while j <= k:
        runs.append((f"self_consistency@{j}", "self_consistency", {"n": j}))
        j *= 2
    runs += [
        (f"adaptive_consistency(max {k})", "adaptive_consistency", {"batch": 2, "max_samples": k, "confidence": 0.95}),
        (f"adaptive_consistency(max {k}, c=0.9)", "adaptive_consistency", {"batch": 2, "max_samples": k, "confidence": 0.9}),
        (f"adaptive_consistency(max {k}, c=0.8)", "adaptive_consistency", {"batch": 2, "max_samples": k, "confidence": 0.8}),
        (f"adaptive_consistency(max {k}, dirichlet)", "adaptive_consistency",
         {"batch": 2, "max_samples": k, "confidence": 0.95, "rule": "dirichlet"}),
        (f"weighted_vote[self_certainty]@{k}", "weighted_vote", {**pooled, "scorer": "self_certainty"}),
        (f"weighted_vote[borda]@{k}", "weighted_vote", {**pooled, "scorer": "self_certainty_borda"}),
        (f"best_of_n[logprob]@{k}", "best_of_n", {**pooled, "scorer": "logprob"}),
        (f"best_of_n[self_certainty]@{k}", "best_of_n", {**pooled, "scorer": "self_certainty"}),
        (f"best_of_n[borda]@{k}", "best_of_n", {**pooled, "scorer": "self_certainty_borda"}),
        (f"best_of_n[judge]@{judge_n}", "best_of_n", {"n": judge_n, "scorer": "judge"}),
        (f"best_of_n[oracle]@{k} (upper bound)", "best_of_n", {**pooled, "scorer": "oracle"}),
        (f"self_refine(R={rounds})", "self_refine", {"rounds": rounds}),
        (f"self_refine(R={rounds}, verifier signal)", "self_refine", {"rounds": rounds, "verifier_signal": True}),
        ("gated_refine(n=4, share<0.5)", "gated_refine", {"n": 4, "threshold": 0.5, "rounds": rounds}),
    ]
    return runs


def make_generator(backend: str, batch_size: int, model_path: str = "default"):
    """(generator on `model_path` (a Hub id, a local folder or `default`) on the CPU, the backend's name)."""
    from selftaught.models import BACKENDS, HFGenerator, load_model

    model, tok = load_model(model_path, device="cpu", dtype="float32")
    if backend == "fast" or (backend == "auto" and "fast" in BACKENDS):
        from selftaught.models.fast import FastGenerator

        return FastGenerator(model, tok, max_batch=256), "fast"
    return HFGenerator(model, tok, batch_size=batch_size), "hf"


def preload(ctx: Context, problems: list, folder: Path, args) -> list[str]:
    """Fill the context's sample pools from an earlier run's traces in `folder` (same task, problems,
    seed and settings): the generator is deterministic in these, so this only skips recomputing them."""
    loaded = []
    for label, temperature in ((f"sample@{args.k}", 0.7), ("greedy", 0.0)):
        path, cfg_path = folder / slug(label) / "traces.jsonl", folder / slug(label) / "config.json"
        if not path.exists() or not cfg_path.exists():
            continue
        cfg = json.loads(cfg_path.read_text())
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        if (cfg["seed"], cfg["config"]["max_new_tokens"], [r["problem_id"] for r in rows]) != (
                args.seed, args.max_new_tokens, [p.id for p in problems]):
            continue
        pool = ctx.pool(temperature, 1.0, args.max_new_tokens)
        params = {"temperature": temperature, "top_p": 1.0, "max_new_tokens": args.max_new_tokens, "seed": args.seed}
        for r in rows:
            pool.samples[r["problem_id"]] = [
                Sample(r["problem_id"], e["text"], e["n_tokens"], e["finish_reason"], e.get("logprob"), dict(params),
                       e["index"], None, e.get("stats", {})) for e in r["trace"] if e["step"] == "sample"]
        pool.calls = 1
        loaded.append(label)
    return loaded


def run_task(name: str, options: dict, generator, args, out: Path) -> list[dict]:
    from selftaught.tasks import ReasoningGymTask

    task = ReasoningGymTask(name, options, few_shot=2)
    problems = task.problems("eval", args.problems, args.seed)
    ctx = Context(task, generator, seed=args.seed)
    if args.reuse:
        print(f"  reused samples from {args.reuse / name}: {preload(ctx, problems, args.reuse / name, args) or 'none'}")
    results = []
    for label, strategy, opts in plan(args.k, args.judge_n, args.rounds):
        cfg = build_strategy(strategy, {**opts, "max_new_tokens": args.max_new_tokens})
        m = evaluate_strategy(task, generator, problems, cfg, out / name, label=slug(label), ctx=ctx)
        m.update(label=label, task=name, correct=_correct(out / name / slug(label)))
        results.append(m)
        print(f"  {name:18s} {label:44s} acc {100 * m['accuracy']:5.1f}%  tok/prob {m['tokens/problem']:7.1f}  "
              f"{m['time_s']:6.1f}s", flush=True)
    write_comparison(results, out / name, f"{name}: {len(problems)} problems")
    return results


def slug(label: str) -> str:
    """A folder name for a label: `best_of_n[judge]@4` -> `best_of_n-judge-@4`."""
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9_.@=-]", "-", label)).strip("-")


def _correct(folder: Path) -> list[bool]:
    return [json.loads(line)["correct"] for line in (folder / "traces.jsonl").read_text().splitlines()]


def paired_diff(a: list[bool], b: list[bool], draws: int = 10000, seed: int = 0) -> dict:
    """mean(a) - mean(b) on the same problems, with a paired bootstrap 95% interval and discordant counts."""
    n = len(a)
    rng = random.Random(seed)
    diffs = []
    for _ in range(draws):
        idx = [rng.randrange(n) for _ in range(n)]
        diffs.append(sum(a[i] - b[i] for i in idx) / n)
    diffs.sort()
    return {"diff": sum(x - y for x, y in zip(a, b)) / n, "ci": [diffs[int(0.025 * draws)], diffs[int(0.975 * draws)]],
            "a_only": sum(x and not y for x, y in zip(a, b)), "b_only": sum(y and not x for x, y in zip(a, b))}


def pooled(results: list[dict]) -> list[dict]:
    """Per label, problems pooled over tasks: accuracy with Wilson interval, mean tokens per problem."""
    out = []
    for label in dict.fromkeys(r["label"] for r in results):
        rows = [r for r in results if r["label"] == label]
        n, solved = sum(r["n"] for r in rows), sum(r["solved"] for r in rows)
        tokens = sum(r["tokens/problem"] * r["n"] for r in rows)
        m = {"label": label, "n": n, "solved": solved, "accuracy": solved / n, "accuracy_ci": list(wilson_interval(solved, n)),
             "tokens/problem": tokens / n, "tokens/solved": tokens / solved if solved else None,
             "upper_bound": any(r.get("upper_bound") for r in rows), "correct": sum((r["correct"] for r in rows), []),
             "ece": _mean([r.get("ece") for r in rows]), "auroc": _mean([r.get("auroc") for r in rows])}
        if "transitions" in rows[0]:
            m["transitions"] = {k: sum(r["transitions"][k] for r in rows) for k in TRANSITIONS}
            m["critique"] = {k: [r.get(k) for r in rows] for k in ("p(no_error|correct)", "p(error|wrong)")}
            m["stop_reasons"] = [r.get("stop_reasons") for r in rows]
            m["refined"] = _mean([r.get("refined") for r in rows])
        if "samples_used" in rows[0]:
            m["samples_used"] = _mean([r["samples_used"] for r in rows])
        for key in rows[0]:
            if key.startswith("pass@"):
                m[key] = sum(r[key] * r["n"] for r in rows) / n
        out.append(m)
    return out


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _num(x, fmt):
    return "-" if x is None else format(x, fmt)


def _pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


def markdown(per_task: dict[str, list[dict]], overall: list[dict]) -> str:
    tasks = list(per_task)
    lines = ["| strategy | " + " | ".join(f"{t} acc %" for t in tasks) + " | pooled acc % [95% CI] | tok/problem | tok/solved | ECE | AUROC |",
             "|---" * (len(tasks) + 6) + "|"]
    for m in overall:
        cells = [_pct(next(r["accuracy"] for r in per_task[t] if r["label"] == m["label"])) for t in tasks]
        ci = m["accuracy_ci"]
        lines.append(f"| {m['label']} | " + " | ".join(cells) +
                     f" | {_pct(m['accuracy'])} [{_pct(ci[0])}, {_pct(ci[1])}] | {m['tokens/problem']:.1f} | "
                     f"{_num(m['tokens/solved'], '.0f')} | {_num(m['ece'], '.3f')} | {_num(m['auroc'], '.3f')} |")
    return "\n".join(lines)


def findings(overall: list[dict], per_task: dict[str, list[dict]], k: int) -> dict:
    by = {m["label"]: m for m in overall}
    by_task = {t: {r["label"]: r for r in rs} for t, rs in per_task.items()}
    greedy, sc = by["greedy"], by[f"self_consistency@{k}"]
    out = {"sc_vs_greedy": paired_diff(sc["correct"], greedy["correct"]),
           "sc_vs_greedy_per_task": {t: paired_diff(by_task[t][f"self_consistency@{k}"]["correct"],
                                                    by_task[t]["greedy"]["correct"]) for t in by_task},
           "adaptive_vs_sc": {label: {**paired_diff(m["correct"], sc["correct"]),
                                      "token_ratio": m["tokens/problem"] / sc["tokens/problem"],
                                      "samples_used": m.get("samples_used")}
                              for label, m in by.items() if label.startswith("adaptive")},
           "pass@k": {key: v for key, v in by[f"sample@{k}"].items() if key.startswith("pass@")}}
    for label, m in by.items():
        if "transitions" in m:
            out[f"transitions {label}"] = {**m["transitions"], "critique": m["critique"], "refined": m["refined"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=32, help="held-out problems per task")
    parser.add_argument("--k", type=int, default=16, help="pool size: samples per problem")
    parser.add_argument("--judge-n", type=int, default=4, help="samples judged by the LLM judge per problem")
    parser.add_argument("--rounds", type=int, default=2, help="self-refine rounds R")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="per sample, critique and revision")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--backend", choices=["auto", "hf", "fast"], default="hf")
    parser.add_argument("--batch-size", type=int, default=16, help="hf backend: sequences per generate batch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-strategies")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="an earlier --out with the same settings: reuse its greedy decodes and sample pools")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    start = time.time()
    generator, backend = make_generator(args.backend, args.batch_size)
    per_task = {}
    for name in args.tasks:
        print(f"[{time.time() - start:7.1f}s] {name}", flush=True)
        per_task[name] = run_task(name, TASKS[name], generator, args, args.out)
    overall = pooled([r for rs in per_task.values() for r in rs])
    elapsed = time.time() - start
    plot = plot_accuracy_vs_tokens(overall, args.out / "accuracy_vs_tokens.png",
                                   f"SmolLM2-135M-Instruct, {len(args.tasks)} reasoning-gym tasks x {args.problems} problems")
    facts = findings(overall, per_task, args.k)
    env = {"command": " ".join(["python", "benchmarks/strategies.py"] + sys.argv[1:]), "backend": backend,
           "machine": f"{platform.machine()} {platform.processor() or ''}, torch {torch.__version__}, threads {args.threads}",
           "elapsed_s": round(elapsed, 1), "args": {k: str(v) for k, v in vars(args).items()}}
    write_json(args.out / "summary.json", {"env": env, "findings": facts, "overall": overall,
                                           "per_task": {t: [{k: v for k, v in r.items() if k != "correct"} for r in rs]
                                                        for t, rs in per_task.items()}})
    table = markdown(per_task, overall)
    (args.out / "results.md").write_text(table + "\n\n```json\n" + json.dumps(facts, indent=1) + "\n```\n")
    print(table)
    print(json.dumps(facts, indent=1))
    print(f"plot: {plot}; total {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
