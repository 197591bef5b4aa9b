"""Monte-Carlo step labels: shared prefill (one prompt per step prefix, n=k) vs a plain loop that
re-prefills every prefix (k copies of each prefix prompt, n=1), same model, same solutions, same run.

The default model (or `--model`) on chain_sum with step-structured prompts (`task.demos: steps`): it
samples one solution for each of `--n` training problems, then labels every step of each solution
with k continuations per prefix (`scoring.mc_labels.mc_step_labels`, `search="all"`), once per mode,
`--repeats` times alternating the modes (a shared machine drifts). Reported: labels per second of each
mode (best of the repeats and all of them), the ratio, continuation tokens generated (the modes draw
different noise, so their continuations differ a little in length), and the labels of each mode.
On a CPU the sampler also prefills the prompts' common prefix (system prompt and worked examples) once
for the whole call (`share_prefix`), so re-prefilling costs only each prefix's own tail there;
`--no-share-prefix` times it as on a GPU, where that sharing is off.

    python benchmarks/step_labels.py --n 8 --k 8 --max-new-tokens 64 --out step_labels_bench.json
    python benchmarks/step_labels.py --n 8 --k 8 --max-new-tokens 64 --no-share-prefix
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from selftaught.cli.common import quiet_libraries
from selftaught.core.config import TaskConfig
from selftaught.core.records import SamplingParams
from selftaught.models import load_model
from selftaught.models.fast import FastGenerator
from selftaught.scoring.mc_labels import MCSettings, mc_step_labels
from selftaught.tasks import build_task

PROBLEM_SEED = 12345  # training problems the loop never draws


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default", help="model folder or `default`")
    p.add_argument("--n", type=int, default=8, help="problems (one solution each)")
    p.add_argument("--k", type=int, default=4, help="continuations per step prefix")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-share-prefix", action="store_true",
                   help="turn off the sampler's shared common prefix of all prompts (off by default on a GPU)")
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


def time_mode(gen, task, problems, samples, settings) -> tuple[float, int, int]:
    """(seconds, labels, continuation tokens) of one labelling pass."""
    tokens = [0]
    generate = gen.generate

    def counting(*args, **kwargs):
        out = generate(*args, **kwargs)
        tokens[0] += sum(s.n_tokens for row in out for s in row)
        return out

    gen.generate = counting
    try:
        start = time.perf_counter()
        records = mc_step_labels(gen, task, problems, samples, settings)
        seconds = time.perf_counter() - start
    finally:
        del gen.generate
    return seconds, sum(len(r["labels"]) for r in records), tokens[0]


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    quiet_libraries()
    task = build_task(TaskConfig(name="chain_sum", demos="steps", few_shot=2,
                                 options={"min_terms": 3, "max_terms": 4, "min_digits": 1, "max_digits": 2}))
    problems = task.problems("train", args.n, PROBLEM_SEED)
    model, tok = load_model(args.model, device="cpu")
    gen = FastGenerator(model, tok, max_batch=64, share_prefix=False if args.no_share_prefix else None)
    params = SamplingParams(temperature=0.7, max_new_tokens=args.max_new_tokens, seed=1)
    samples = [row[0] for row in gen.generate([p.prompt for p in problems], params,
                                              problem_ids=[p.id for p in problems])]
    runs: dict[str, list] = {"shared": [], "reprefill": []}
    for _ in range(args.repeats):
        for mode in runs:
            settings = MCSettings(k=args.k, max_new_tokens=args.max_new_tokens, seed=2, reprefill=mode == "reprefill")
            runs[mode].append(time_mode(gen, task, problems, samples, settings))
    best = {m: min(r[0] for r in rs) for m, rs in runs.items()}
    labels = {m: rs[0][1] for m, rs in runs.items()}
    result = {"model": args.model, "task": "chain_sum 3-4 terms, 1-2 digits, demos=steps", "problems": args.n,
              "k": args.k, "max_new_tokens": args.max_new_tokens, "threads": args.threads,
              "labels": labels, "continuation_tokens": {m: rs[0][2] for m, rs in runs.items()},
              "seconds_all": {m: [round(r[0], 2) for r in rs] for m, rs in runs.items()},
              "labels_per_s": {m: round(labels[m] / best[m], 3) for m in runs},
              "tokens_per_s": {m: round(rs[0][2] / best[m], 1) for m, rs in runs.items()},
              "ratio_shared_over_reprefill": round(best["reprefill"] / best["shared"], 3),
              "share_prefix": gen.share_prefix,
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "torch": torch.__version__}
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
