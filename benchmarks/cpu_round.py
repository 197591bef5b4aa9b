"""Seconds per default-recipe round on a CPU: the plain HF loop (backend hf) vs selftaught's CPU path (backend fast).

Each backend runs recipes/default.yaml (one round) in its own fresh run directory through `run_loop`,
same seeds, same thread count: round 0 evaluates the base model (greedy, n_eval held-out problems);
round 1 samples n_train x 4 attempts at T=0.7 with that model, keeps the correct ones, trains on them
(SFT, the same code for both backends) and evaluates the trained model. Times come from the rounds'
metrics.json: `sample` + `eval` is the round without its training step (the part the backend
decides), `train` is the training step, and `round` is round 1 whole. Held-out accuracy is given
with 95% Wilson intervals for both rounds (round 0: the same base model, so it should agree exactly
in fp32; round 1: different samples, so equal within the intervals).

    python benchmarks/cpu_round.py                 # the recipe as shipped: 128 x 4 samples, 128 held out
    python benchmarks/cpu_round.py --small         # 32 x 4 samples, 32 held out (a few minutes)
    python benchmarks/cpu_round.py --threads 2 --backends fast
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from rich.console import Console

from selftaught.cli.main import quiet_libraries
from selftaught.core.config import load_config
from selftaught.loop.rounds import run_loop

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "default.yaml"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="32 training problems x 4, 32 held out")
    p.add_argument("--threads", type=int, default=1, help="torch threads for both backends")
    p.add_argument("--backends", default="hf,fast", help="comma-separated, run in this order")
    p.add_argument("--out", default="runs/bench-cpu-round")
    p.add_argument("--set", action="append", default=[], help="extra recipe override, as `selftaught run --set`")
    return p.parse_args(argv)


def overrides(args, backend: str) -> list[str]:
    sets = [f"backend={backend}", "device=cpu", f"threads={args.threads}", "loop.rounds=1",
            f"name=cpu-round-{backend}"]
    if args.small:
        sets += ["task.n_train=32", "task.n_eval=32"]
    return sets + args.set


def run_backend(args, backend: str, console: Console) -> dict:
    cfg = load_config(RECIPE, overrides(args, backend))
    start = time.time()
    rows = run_loop(cfg, str(Path(args.out) / backend), fresh=True, console=console)
    r0, r1 = rows[0], rows[1]
    return {
        "backend": backend, "wall": round(time.time() - start, 1), "load_after": os.getloadavg()[0],
        "sample": r1["time/sample"], "eval0": r0["time/eval"], "eval1": r1["time/eval"],
        "train": r1.get("train/seconds") or 0.0, "round": r1["time/round"],
        "acc0": [r0["eval/accuracy"], r0["eval/accuracy_low"], r0["eval/accuracy_high"]],
        "acc1": [r1["eval/accuracy"], r1["eval/accuracy_low"], r1["eval/accuracy_high"]],
        "pass1": r1.get("rollout/pass@1"), "records": r1.get("select/kept"), "n_eval": r0["eval/n"],
    }


def pct(a: list[float]) -> str:
    return f"{100 * a[0]:.1f} [{100 * a[1]:.1f}, {100 * a[2]:.1f}]"


def table(results: list[dict]) -> str:
    base = next((r for r in results if r["backend"] == "hf"), None)
    lines = ["| backend | sample s | eval s (round 1) | sample + eval s | x hf | train s | round 1 s | x hf "
             "| held-out % round 0 | held-out % round 1 | train pass@1 % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for r in results:
        gen = r["sample"] + r["eval1"]
        ratio = f"{(base['sample'] + base['eval1']) / gen:.1f}x" if base else "-"
        ratio_round = f"{base['round'] / r['round']:.1f}x" if base else "-"
        lines.append(f"| {r['backend']} | {r['sample']:.0f} | {r['eval1']:.0f} | {gen:.0f} | {ratio} | "
                     f"{r['train']:.0f} | {r['round']:.0f} | {ratio_round} | {pct(r['acc0'])} | {pct(r['acc1'])} | "
                     f"{100 * (r['pass1'] or 0):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_libraries()
    console = Console()
    results = []
    load_before = os.getloadavg()[0]
    for backend in args.backends.split(","):
        results.append(run_backend(args, backend, console))
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "results.json").write_text(json.dumps(results, indent=1))
    console.print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {args.threads} torch thread(s); "
                  f"load average {load_before:.1f} before, {results[-1]['load_after']:.1f} after")
    console.print(table(results), soft_wrap=True)


if __name__ == "__main__":
    main()
