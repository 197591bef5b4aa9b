"""Compare the loop variants rft, rest_em and bstar at the same sample budget and seeds.

Each (task, variant, seed) is one `selftaught run` (through `run_loop`) in OUT/TASK/VARIANT/sSEED;
a finished run is reused, so an interrupted benchmark resumes. The table (held-out greedy accuracy
per round with 95% Wilson intervals, train pass@1 / pass@n, balance score, distinct correct answers,
chosen temperature) is printed, saved as OUT/results.json, and written to BENCHMARKS.md between the
`<!-- loops -->` markers.

    python benchmarks/loops.py --device cuda --backend fast --rounds 3 --n-train 256 --n 4 --n-eval 256
    python benchmarks/loops.py --model /tmp/tiny --tasks basic_arithmetic --rounds 1 --n-train 4  # plumbing

Every variant samples the same n attempts for the same n_train problems per round; bstar additionally
spends `control.probe_size` x n x len(temperatures) probe samples per round (reported as tokens).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from rich.console import Console

from selftaught.cli.main import quiet_libraries
from selftaught.core.config import load_config
from selftaught.loop.rounds import run_loop

# Easy settings where SmolLM2-135M-Instruct solves some problems with a 2-shot prompt.
TASKS = {
    "basic_arithmetic": {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]},
    "chain_sum": {"min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1},
}
MARK_START, MARK_END = "<!-- loops -->", "<!-- /loops -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names (keys of TASKS)")
    p.add_argument("--variants", default="rft,rest_em,bstar")
    p.add_argument("--seeds", default="0")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n-train", type=int, default=256)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--n-eval", type=int, default=256)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--probe-size", type=int, default=64)
    p.add_argument("--model", default="default")
    p.add_argument("--device", default="auto")
    p.add_argument("--backend", default="hf")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", default="runs/bench-loops")
    p.add_argument("--md", default="BENCHMARKS.md", help="file to write the table into ('' to skip)")
    p.add_argument("--machine", default=platform.node(), help="machine description for the table")
    return p.parse_args(argv)


def overrides(args, task: str, variant: str, seed: int) -> list[str]:
    kind = variant
    return [
        f"name={task}-{variant}-s{seed}", f"model={args.model}", f"device={args.device}",
        f"backend={args.backend}", f"seed={seed}", f"task.name={task}",
        f"task.options={json.dumps(TASKS[task])}", f"task.n_train={args.n_train}",
        f"task.n_eval={args.n_eval}", f"sampling.n={args.n}", f"sampling.temperature={args.temperature}",
        f"sampling.max_new_tokens={args.max_new_tokens}", f"eval.max_new_tokens={args.max_new_tokens}",
        f"sampling.batch_size={args.batch_size}", f"eval.batch_size={args.batch_size}",
        f"loop.kind={kind}", f"loop.rounds={args.rounds}", f"control.probe_size={args.probe_size}",
        "control.temperatures=[0.4,0.7,1.0,1.3]",
    ]


def run_all(args, console: Console, save) -> list[dict]:
    """Every (task, variant, seed) run; `save(results)` after each, so a cut-off benchmark keeps its part."""
    results = []
    for task in args.tasks.split(","):
        for variant in args.variants.split(","):
            for seed in [int(s) for s in args.seeds.split(",")]:
                cfg = load_config(None, overrides(args, task, variant, seed))
                start = time.time()
                rows = run_loop(cfg, str(Path(args.out) / task / variant / f"s{seed}"), console=console)
                results.append({"task": task, "variant": variant, "seed": seed, "rounds": rows,
                                "seconds": round(time.time() - start, 1)})
                console.print(f"{task} {variant} s{seed}: " + " -> ".join(
                    f"{100 * r['eval/accuracy']:.1f}" for r in rows))
                save(results)
    return results


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def num(x, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(results: list[dict], args) -> str:
    n = args.n
    lines = [
        "| task | variant | seed | round | held-out % [95% CI] | train pass@1 | train pass@" + str(n)
        + " | balance | distinct correct | T |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for r in res["rounds"]:
            t = (r.get("settings") or {}).get("temperature") if r["round"] else None
            lines.append(
                f"| {res['task']} | {res['variant']} | {res['seed']} | {r['round']} | "
                f"{pct(r['eval/accuracy'])} [{pct(r['eval/accuracy_low'])}, {pct(r['eval/accuracy_high'])}] | "
                f"{pct(r.get('rollout/pass@1'))} | {pct(r.get(f'rollout/pass@{n}'))} | "
                f"{num(r.get('rollout/balance'), 3)} | {num(r.get('rollout/distinct_correct'), 2)} | "
                f"{'-' if t is None else t} |")
    return "\n".join(lines)


def write_markdown(path: str, body: str) -> None:
    p = Path(path)
    text = p.read_text() if p.exists() else "# Benchmarks\n"
    section = f"{MARK_START}\n{body}\n{MARK_END}"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Loop variants: rft vs rest_em vs bstar\n\n" + section + "\n"
    p.write_text(text)


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_libraries()
    console = Console()

    def save(results: list[dict]) -> None:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "results.json").write_text(json.dumps(results, indent=1))
        body = (f"Command: `python {' '.join(sys.argv)}`  \nMachine: {args.machine}; total "
                f"{sum(r['seconds'] for r in results):.0f} s.\n\n" + table(results, args))
        if args.md:
            write_markdown(args.md, body)

    results = run_all(args, console, save)
    console.print(table(results, args))


if __name__ == "__main__":
    main()
