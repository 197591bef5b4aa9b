"""The other scorers on the same held-out answers as a `selftaught judge-train` run's judges.

    python benchmarks/judge_baselines.py runs/judge-sr      # after: selftaught judge-train --run-dir runs/judge-sr

Reads RUN_DIR/judge/rounds/000/eval_answers_*.jsonl (the policy's held-out answers and the verifier's
verdicts) and prints the AUROC against the verifier of: the prompted P(yes) judge (scoring/judge.py)
on the run's starting model, the answers' mean token log-prob and self-certainty (written by the
sampler), and each judge-train round's rationale judge (from its metrics.json), as a markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import yaml

from selftaught.core.config import Config
from selftaught.core.records import Sample, from_dict
from selftaught.metrics.exploit import auroc
from selftaught.models import build_generator, load_model, resolve_model
from selftaught.scoring import make_judge
from selftaught.tasks import build_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    root = args.run_dir / "judge"
    cfg = Config.model_validate(yaml.safe_load((root / "config.yaml").read_text()))
    torch.set_num_threads(cfg.threads or 1)
    rounds = root / "rounds"
    samples = [from_dict(Sample, json.loads(x)) for x in (rounds / "000/eval_answers_samples.jsonl").open()]
    truth = [json.loads(x)["verdict"] == "correct" for x in (rounds / "000/eval_answers_scores.jsonl").open()]
    kept = {json.loads(x)["sample_id"] for x in (rounds / "000/eval_judgments.jsonl").open()}
    pairs = [(s, t) for s, t in zip(samples, truth) if s.id in kept]
    samples, truth = [s for s, _ in pairs], [t for _, t in pairs]
    task = build_task(cfg.task)
    problems = {p.id: p for p in task.problems("eval", cfg.judge.n_eval_answers, cfg.seed)}
    model, tok = load_model(resolve_model(cfg.model), "cpu", "float32")
    judge = make_judge(build_generator(cfg.model_copy(update={"backend": "hf"}), model, tok))  # hf: reads logits
    p_yes = judge([problems[s.problem_id] for s in samples], samples)
    assert judge.has_logits, "the P(yes) judge needs a generator with the model's logits"
    rows = [("prompted judge P(yes) (`judge`)", auroc(p_yes, truth)),
            ("mean token log-prob", auroc([s.stats["mean_logprob"] for s in samples], truth)),
            ("self-certainty", auroc([s.stats["self_certainty"] for s in samples], truth))]
    for path in sorted(rounds.glob("*/metrics.json")):
        m = json.loads(path.read_text())
        rows.append((f"rationale judge after {m['round']} round(s) (`judge_rationale`, m={cfg.judge.m})",
                     m["judge/auroc"]))
    print(f"{len(samples)} held-out answers, {sum(truth)} right (verifier)\n")
    print("| scorer | AUROC |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {'-' if value is None else f'{value:.3f}'} |")


if __name__ == "__main__":
    main()
