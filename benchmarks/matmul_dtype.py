"""backend fast on a CPU: float32 matmuls vs bf16 matmuls (`sampling.matmul_dtype`), same model, same prompts.

For one model folder (default: the default model) on recipes/default.yaml's task, each variant runs
greedy decoding on the held-out problems and samples `--samples` attempts at T=0.7 for `--n-train`
training problems (a seed the loop does not use), timed. Reported: seconds and the speed ratio,
held-out greedy accuracy, sampled pass@1, and how many greedy completions are identical between
the variants. With `--base BASE` (the model the folder was trained from) it also reports what bf16
rounding leaves of the training update: the share of parameters whose bf16 value differs from the
base's, and how much of the update survives (the rounded update projected on the true one, as a share
of the true one). `--gemm` instead times bare matmuls of SmolLM2-135M's shapes, float32 vs bf16.
Only meaningful where the CPU multiplies bf16 natively (see `cpu_has_bf16_matmul`).

    python benchmarks/matmul_dtype.py
    python benchmarks/matmul_dtype.py --model runs/default/rounds/003/checkpoint --base default
    python benchmarks/matmul_dtype.py --gemm
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from selftaught.cli.main import quiet_libraries
from selftaught.core.config import load_config
from selftaught.core.records import SamplingParams
from selftaught.models import load_model
from selftaught.models.fast import FastGenerator, cpu_has_bf16_matmul
from selftaught.tasks import build_task

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "default.yaml"
PROBLEM_SEED = 12345  # training problems the loop never draws (it uses the recipe's seed)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default", help="model folder or `default`")
    p.add_argument("--base", default=None, help="the model --model was trained from (rounding analysis)")
    p.add_argument("--n-train", type=int, default=256)
    p.add_argument("--n-eval", type=int, default=128)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--gemm", action="store_true", help="only time bare float32 vs bf16 matmuls of the model's shapes")
    return p.parse_args(argv)


def run(gen, task, evals, trains, samples: int) -> dict:
    t = time.perf_counter()
    greedy = gen.generate([p.prompt for p in evals], SamplingParams(temperature=0.0, max_new_tokens=32))
    t_eval = time.perf_counter() - t
    t = time.perf_counter()
    sampled = gen.generate([p.prompt for p in trains], SamplingParams(temperature=0.7, max_new_tokens=32, seed=7),
                           n=samples)
    t_sample = time.perf_counter() - t
    texts = [row[0].text for row in greedy]
    correct = sum(task.score(p, x).correct for p, x in zip(evals, texts))
    hits = sum(task.score(p, s.text).correct for p, row in zip(trains, sampled) for s in row)
    return {"eval_s": t_eval, "sample_s": t_sample, "texts": texts, "acc": correct / len(evals),
            "pass1": hits / (samples * len(trains))}


def gemm(repeats: int = 10) -> None:
    """GFLOP/s of F.linear, float32 vs bf16, for SmolLM2-135M's matrices (qkv, gate/up, down, LM head)."""
    shapes = [(576, 1728), (576, 3072), (1536, 576), (576, 49152)]
    print("| rows | in x out | float32 GFLOP/s | bf16 GFLOP/s | bf16 / float32 |")
    print("|---:|---|---:|---:|---:|")
    for rows in (64, 240, 1024):
        for k, n in shapes:
            rate = {}
            for dtype in (torch.float32, torch.bfloat16):
                a, w = torch.randn(rows, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
                for _ in range(3):
                    torch.nn.functional.linear(a, w)
                t = time.perf_counter()
                for _ in range(repeats):
                    torch.nn.functional.linear(a, w)
                rate[dtype] = 2 * rows * k * n * repeats / (time.perf_counter() - t) / 1e9
            print(f"| {rows} | {k} x {n} | {rate[torch.float32]:.0f} | {rate[torch.bfloat16]:.0f} | "
                  f"{rate[torch.bfloat16] / rate[torch.float32]:.1f}x |")


def rounding(model, base) -> tuple[float, float]:
    """(share of parameters whose bf16 value moved off the base's, <rounded update, update> / |update|^2)."""
    total = moved = 0
    kept = norm = 0.0
    pairs = [(b.detach(), t.detach()) for b, t in zip(base.parameters(), model.parameters())]
    for b, t in pairs:
        update = (t - b).double()
        rounded = (t.to(torch.bfloat16).float() - b).double()
        total += b.numel()
        moved += int((t.to(torch.bfloat16).float() != b.to(torch.bfloat16).float()).sum())
        kept += float((rounded * update).sum())
        norm += float((update * update).sum())
    return moved / total, kept / norm if norm else float("nan")


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_libraries()
    torch.set_num_threads(args.threads)
    if args.gemm:
        print(f"{platform.node()}, native bf16 matmul: {cpu_has_bf16_matmul()}, {args.threads} thread(s), "
              f"torch {torch.__version__}")
        gemm()
        return
    cfg = load_config(RECIPE)
    task = build_task(cfg.task)
    evals = task.problems("eval", args.n_eval, cfg.seed)
    trains = task.problems("train", args.n_train, PROBLEM_SEED)
    model, tok = load_model(args.model, device="cpu", dtype="float32")
    load = os.getloadavg()[0]
    out = {}
    with torch.inference_mode():
        for name, dtype in (("float32", None), ("bf16 matmuls", torch.bfloat16)):
            out[name] = run(FastGenerator(model, tok, max_batch=cfg.sampling.batch_size, matmul_dtype=dtype),
                            task, evals, trains, args.samples)
    a, b = out["float32"], out["bf16 matmuls"]
    same = sum(x == y for x, y in zip(a["texts"], b["texts"]))
    print(f"model {args.model}; {platform.node()}, native bf16 matmul: {cpu_has_bf16_matmul()}, "
          f"{args.threads} thread(s), torch {torch.__version__}, load average {load:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"| matmuls | greedy eval {args.n_eval} (s) | sample {args.n_train} x {args.samples} (s) | speed vs float32 "
          f"| held-out greedy % | sampled pass@1 % |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in out.items():
        speed = (a["eval_s"] + a["sample_s"]) / (r["eval_s"] + r["sample_s"])
        print(f"| {name} | {r['eval_s']:.1f} | {r['sample_s']:.1f} | {speed:.2f}x | {100 * r['acc']:.1f} | "
              f"{100 * r['pass1']:.1f} |")
    print(f"identical greedy completions: {same} of {len(evals)}")
    if args.base:
        base, _ = load_model(args.base, device="cpu", dtype="float32")
        moved, kept = rounding(model, base)
        print(f"bf16 rounding vs {args.base}: {100 * moved:.1f}% of parameters differ from the base's bf16 value; "
              f"the rounded update keeps {100 * kept:.1f}% of the true one (projection)")


if __name__ == "__main__":
    main()
