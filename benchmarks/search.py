"""Search at matched tokens: beam search and DVTS vs best-of-N vs self-consistency on the default model.

    python benchmarks/search.py                          # defaults: 48 problems, N = 4 and 16
    python benchmarks/search.py --problems 8 --ns 4      # a quick smoke run
    python benchmarks/search.py --prm learned_prm --prm-path .bench/verifier-basic_arithmetic-0/prm --aggregate min \
        --out runs/bench-search-prm --plot docs/search_matched_tokens_prm.png   # a trained PRM guides the search

The default task (basic_arithmetic as recipes/default.yaml sets it, 2 worked examples), its held-out
problems, the default model (fp32, backend fast), T = 0.7, 32 new tokens at most. For each N, every
strategy runs in one `Context`, so self-consistency@N, best-of-N and the PRM-weighted strategies read
the same N samples of one shared pool (generated once, charged to each). The step scorer is `--prm`:
by default `step_logprob`, the policy's own geometric-mean token probability of each step (label-free,
untrained), with `--aggregate last`; `learned_prm` with `--prm-path` is a process reward model trained by
`benchmarks/verifier.py --prm` or the loop (verifier.kinds [prm]). Beam search and DVTS use M = `--beam-width`
(2 for N = 4). Outputs under --out: the runner's folders per N, `summary.json`, `results.md` and the
plot `--plot` (accuracy against generated tokens per problem, one line per strategy family).
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

from selftaught.core.io import write_json  # noqa: E402
from selftaught.inference import Context, build_strategy  # noqa: E402
from selftaught.inference.runner import evaluate_strategy  # noqa: E402

OPTIONS = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ["+", "-"]}
FAMILIES = ("self_consistency", "best_of_n[logprob]", "prm_best_of_n", "prm_vote", "beam_search", "dvts",
            "best_of_n[oracle]")


def plan(n: int, width: int, prm: dict | None = None) -> list[tuple[str, str, dict]]:
    """(family, strategy, options) for one N; the first one fills the shared pool. `prm`: the step scorer's
    options (`prm`, `aggregate`) of the PRM-scored strategies (their defaults when None)."""
    m = min(width, n // 2) if n > 1 else 1
    prm = prm or {}
    return [("self_consistency", "self_consistency", {"n": n}),
            ("best_of_n[logprob]", "best_of_n", {"n": n, "scorer": "logprob"}),
            ("prm_best_of_n", "prm_best_of_n", {"n": n, **prm}),
            ("prm_vote", "prm_vote", {"n": n, **prm}),
            ("beam_search", "beam_search", {"n": n, "beam_width": m, **prm}),
            ("dvts", "dvts", {"n": n, "beam_width": m, **prm}),
            ("best_of_n[oracle]", "best_of_n", {"n": n, "scorer": "oracle"})]


def plot(rows: list[dict], path: Path, scorer: str = "the model's own step log-prob") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for family in FAMILIES:
        pts = sorted((r["tokens/problem"], 100 * r["accuracy"], r["n_setting"]) for r in rows if r["family"] == family)
        if not pts:
            continue
        style = "x--" if family.endswith("[oracle]") else "o-"
        label = family + (" (upper bound)" if family.endswith("[oracle]") else "")
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
        for x, y, n in pts:
            ax.annotate(f"N={n}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, color=line.get_color())
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per problem (log scale)")
    ax.set_ylabel("accuracy %")
    ax.set_title(f"Search at matched tokens (step scorer: {scorer})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows: list[dict]) -> str:
    lines = ["| N | strategy | accuracy % [95% CI] | generated tok/problem | scored tok/problem | time s |",
             "|---:|---|---|---:|---:|---:|"]
    for r in rows:
        lo, hi = r["accuracy_ci"]
        scored = r.get("scored_tokens/problem")
        lines.append(f"| {r['n_setting']} | {r['family']} | {100 * r['accuracy']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] | "
                     f"{r['tokens/problem']:.1f} | {'-' if scored is None else f'{scored:.1f}'} | {r['time_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=48)
    ap.add_argument("--ns", type=int, nargs="+", default=[4, 16])
    ap.add_argument("--beam-width", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-search")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "search_matched_tokens.png")
    ap.add_argument("--prm", default="step_logprob", help="step scorer: step_logprob, learned_prm or module:object")
    ap.add_argument("--prm-path", type=Path, help="--prm learned_prm: the trained PRM's folder")
    ap.add_argument("--aggregate", default="last", choices=["min", "prod", "last"], help="step scores -> one value")
    ap.add_argument("--resume", action="store_true", help="read back strategies whose metrics.json exists under --out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from selftaught.models import load_model
    from selftaught.models.fast import FastGenerator
    from selftaught.tasks import ReasoningGymTask

    if args.prm == "learned_prm" and not (args.prm_path and (args.prm_path / "verifier.json").is_file()):
        ap.error("--prm learned_prm needs --prm-path, the folder of a trained PRM (its verifier.json)")
    model, tok = load_model("default", device="cpu", dtype="float32")
    generator = FastGenerator(model, tok, max_batch=32)  # 32 cache slots: ~0.3 GB of KV (the VM is shared)
    task = ReasoningGymTask("basic_arithmetic", OPTIONS, few_shot=2)
    problems = task.problems("eval", args.problems, args.seed)
    rows, start = [], time.time()
    for n in args.ns:
        ctx = Context(task, generator, seed=args.seed,
                      scorer_options={"prm_path": str(args.prm_path)} if args.prm_path else {})
        for family, strategy, opts in plan(n, args.beam_width, {"prm": args.prm, "aggregate": args.aggregate}):
            cfg = build_strategy(strategy, {**opts, "max_new_tokens": args.max_new_tokens, "temperature": 0.7})
            done = args.out / f"n{n}" / family / "metrics.json"
            if args.resume and done.exists():
                m = json.loads(done.read_text())
            else:
                m = evaluate_strategy(task, generator, problems, cfg, args.out / f"n{n}", label=family, ctx=ctx)
            rows.append({**m, "family": family, "n_setting": n})
            print(f"N={n:3d} {family:20s} acc {100 * m['accuracy']:5.1f}%  tok/prob {m['tokens/problem']:7.1f}  "
                  f"scored {m.get('scored_tokens/problem', 0):7.1f}  {m['time_s']:6.1f}s", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    meta = {"problems": args.problems, "ns": args.ns, "beam_width": args.beam_width, "seed": args.seed,
            "prm": args.prm, "prm_path": str(args.prm_path) if args.prm_path else None, "aggregate": args.aggregate,
            "threads": args.threads, "commit": commit, "machine": platform.processor() or platform.machine(),
            "cpus": torch.get_num_threads(), "total_s": round(time.time() - start)}
    write_json(args.out / "summary.json", {"meta": meta, "rows": rows})
    (args.out / "results.md").write_text(markdown(rows))
    plot(rows, args.plot, "the model's own step log-prob" if args.prm == "step_logprob" else f"{args.prm}, {args.aggregate}")
    print(markdown(rows))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
