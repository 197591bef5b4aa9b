"""Seconds per default-recipe round on a CPU: the plain HF loop vs selftaught as shipped.

Variants (`--variants`, run in this order, each in its own fresh run directory through `run_loop`):
  plain       the plain HF loop: transformers `generate` (backend hf), SFT records with the full
              few-shot prompt (select.strip_few_shot false), TRL's SFTTrainer loss as TRL computes it
              on a CPU (every position through the LM head: selftaught's `labelled_positions_only` off);
  hf          recipes/default.yaml as shipped but with backend hf;
  selftaught  recipes/default.yaml as shipped (its backend, strip_few_shot and the compact loss);
  bf16        as selftaught, plus sampling.matmul_dtype=auto (training attempts sampled with bf16 matmuls
              on a CPU with native bf16; the held-out evaluation stays float32).
Each runs recipes/default.yaml for one round with the same seeds and thread count: round 0
evaluates the base model (greedy, n_eval held-out problems); round 1 samples n_train x 4 attempts at T=0.7 with that model, keeps the correct ones, trains on them
(SFT; TRL's SFTTrainer for every variant) and evaluates the trained model. Times come from the rounds'
metrics.json: `sample` + `eval` is the round without its training step (the part the backend
decides), `train` is the training step, and `round` is round 1 whole. Held-out accuracy is given
with 95% Wilson intervals for both rounds (round 0: the same base model, so it should agree exactly
in fp32; round 1: different samples, so equal within the intervals).

    python benchmarks/cpu_round.py                 # the recipe's sizes (task.n_train x sampling.n, task.n_eval)
    python benchmarks/cpu_round.py --small         # 32 x 4 samples, 32 held out (a few minutes)
    python benchmarks/cpu_round.py --threads 2 --variants selftaught
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path
from unittest.mock import patch

from rich.console import Console

from selftaught.cli.main import quiet_libraries
from selftaught.core.config import load_config
from selftaught.loop.rounds import run_loop
from selftaught.models.fast import cpu_has_bf16_matmul
from selftaught.train import common

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "default.yaml"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="32 training problems x 4, 32 held out")
    p.add_argument("--threads", type=int, default=1, help="torch threads for every variant")
    p.add_argument("--variants", default="plain,selftaught,bf16", help="comma-separated: plain, hf, selftaught, bf16")
    p.add_argument("--out", default="runs/bench-cpu-round")
    p.add_argument("--set", action="append", default=[], help="extra recipe override, as `selftaught run --set`")
    return p.parse_args(argv)


VARIANTS = {"plain": ["backend=hf", "select.strip_few_shot=false"], "hf": ["backend=hf"], "selftaught": [],
            "bf16": ["sampling.matmul_dtype=auto"]}


def overrides(args, variant: str) -> list[str]:
    sets = VARIANTS[variant] + ["device=cpu", f"threads={args.threads}", "loop.rounds=1", f"name=cpu-round-{variant}"]
    if args.small:
        sets += ["task.n_train=32", "task.n_eval=32"]
    return sets + args.set


def run_variant(args, variant: str, console: Console) -> dict:
    cfg = load_config(RECIPE, overrides(args, variant))
    start = time.time()
    with ExitStack() as stack:
        if variant == "plain":  # TRL's own CPU loss: every position scored
            stack.enter_context(patch.object(common, "labelled_positions_only", nullcontext))
        rows = run_loop(cfg, str(Path(args.out) / variant), fresh=True, console=console)
    r0, r1 = rows[0], rows[1]
    return {
        "variant": variant, "backend": cfg.backend, "strip_few_shot": cfg.select.strip_few_shot,
        "sampling_matmul": cfg.sampling.matmul_dtype, "cpu_bf16_matmul": cpu_has_bf16_matmul(),
        "wall": round(time.time() - start, 1), "load_after": os.getloadavg()[0],
        "sample": r1["time/sample"], "eval0": r0["time/eval"], "eval1": r1["time/eval"],
        "train": r1.get("train/seconds") or 0.0, "round": r1["time/round"],
        "acc0": [r0["eval/accuracy"], r0["eval/accuracy_low"], r0["eval/accuracy_high"]],
        "acc1": [r1["eval/accuracy"], r1["eval/accuracy_low"], r1["eval/accuracy_high"]],
        "pass1": r1.get("rollout/pass@1"), "records": r1.get("select/kept"), "n_eval": r0["eval/n"],
    }


def pct(a: list[float]) -> str:
    return f"{100 * a[0]:.1f} [{100 * a[1]:.1f}, {100 * a[2]:.1f}]"


def table(results: list[dict]) -> str:
    base = next((r for r in results if r["variant"] == "plain"), None)
    lines = ["| variant | sample s | eval s (round 1) | sample + eval s | x plain | train s | round 1 s | x plain "
             "| held-out % round 0 | held-out % round 1 | train pass@1 % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for r in results:
        gen = r["sample"] + r["eval1"]
        ratio = f"{(base['sample'] + base['eval1']) / gen:.1f}x" if base else "-"
        ratio_round = f"{base['round'] / r['round']:.1f}x" if base else "-"
        lines.append(f"| {r['variant']} ({r['backend']}) | {r['sample']:.0f} | {r['eval1']:.0f} | {gen:.0f} | {ratio} | "
                     f"{r['train']:.0f} | {r['round']:.0f} | {ratio_round} | {pct(r['acc0'])} | {pct(r['acc1'])} | "
                     f"{100 * (r['pass1'] or 0):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_libraries()
    console = Console()
    results = []
    load_before = os.getloadavg()[0]
    for variant in args.variants.split(","):
        if variant not in VARIANTS:
            raise SystemExit(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
        results.append(run_variant(args, variant, console))
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "results.json").write_text(json.dumps(results, indent=1))
    console.print(f"machine: {platform.node()}, {os.cpu_count()} CPUs (native bf16 matmul: {cpu_has_bf16_matmul()}), "
                  f"{args.threads} torch thread(s); "
                  f"load average {load_before:.1f} before, {results[-1]['load_after']:.1f} after")
    console.print(table(results), soft_wrap=True)


if __name__ == "__main__":
    main()
