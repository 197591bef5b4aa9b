"""Length generalization from scratch with self-labelling (Lee et al. 2025), rounds driven step by step.

Runs the `self_label` curriculum's rounds on a model that `selftaught scratch RECIPE` trained, with the
project's parts: the curriculum's plan, the hf sampler, the task's scorer (its length/format filter),
the `majority` selection rule (select.min_share), SFT records in plain text, the SFT trainer, and the
greedy accuracy per level. It is what `selftaught run RECIPE` does with `curriculum.mode: self_label`
once the loop draws its problems from a curriculum; this script needs only the curriculum interface.

    selftaught scratch recipes/length_generalization.yaml
    python benchmarks/length_generalization.py recipes/length_generalization.yaml --rounds 3 --out runs/lg.json

Prints and writes (JSON) accuracy per level after the initial training and after each round, with the
frontier, its reliability and the accuracy of the labels trained on.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from selftaught.core.config import load_config
from selftaught.core.records import SamplingParams
from selftaught.curriculum import CURRICULA, Arm
from selftaught.models.hf import HFGenerator
from selftaught.models.resolve import load_model
from selftaught.select import make_majority, selection_metrics, to_sft_record
from selftaught.tasks import build_task
from selftaught.train.scratch import level_accuracy
from selftaught.train.sft import train_sft


def round_problems(task, plan: dict[Arm, int], seed: int):
    problems = []
    for arm, n in sorted(plan.items()):
        for p in task.problems("train", n, seed, level=arm.level):
            p.meta["arm"] = arm.key
            problems.append(p)
    return problems


def one_round(cfg, task, curriculum, model, tokenizer, index: int) -> dict:
    start = time.time()
    problems = round_problems(task, curriculum.plan(index, cfg.task.n_train), cfg.seed + 1000 * index)
    generator = HFGenerator(model, tokenizer, batch_size=cfg.sampling.batch_size, prompt_format="plain")
    params = SamplingParams(cfg.sampling.temperature, cfg.sampling.top_p, cfg.sampling.max_new_tokens or 32,
                            seed=cfg.seed + index, stop=())
    groups = generator.generate([p.prompt for p in problems], params, n=cfg.sampling.n,
                                problem_ids=[p.id for p in problems])
    samples = [s for g in groups for s in g]
    by_id = {p.id: p for p in problems}
    scores = []
    for s in samples:
        sc = task.score(by_id[s.problem_id], s.text)
        sc.sample_id = s.id
        scores.append(sc)
    metrics = curriculum.update(index, problems, samples, scores)
    kept = make_majority(min_share=cfg.select.min_share, seed=cfg.seed + index)(problems, samples, scores)
    sel = selection_metrics(problems, samples, scores, kept)
    metrics.update({"select/kept": sel["kept"], "select/label_accuracy": sel["label_accuracy"],
                    "select/coverage": sel["coverage"], "time/sample": round(time.time() - start, 1)})
    records = [to_sft_record(k, "plain") for k in kept]
    model, result = train_sft(model, tokenizer, records, cfg.train, "cpu", cfg.seed + index)
    metrics.update({k: v for k, v in result.metrics().items() if k in ("train/loss", "train/steps", "train/seconds")})
    return metrics


def accuracy_row(model, tokenizer, task, curriculum, n: int, seed: int) -> dict[str, float]:
    levels = [arm.level for arm in curriculum.eval_arms()]
    return {str(k): round(v, 3) for k, v in level_accuracy(model, tokenizer, task, levels, n, seed).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("--rounds", type=int, default=None, help="default: the recipe's loop.rounds")
    ap.add_argument("--out", default=None, help="JSON file for the rows")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    cfg = load_config(args.recipe, args.overrides)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    task = build_task(cfg.task)
    arms = [Arm(task.name, level) for level in range(1, cfg.curriculum.max_level + 1)]
    curriculum = CURRICULA.get(cfg.curriculum.mode)(cfg.curriculum, arms, cfg.seed)
    model, tokenizer = load_model(cfg.model, "cpu", "float32")
    rows = [{"round": 0, "accuracy": accuracy_row(model, tokenizer, task, curriculum, cfg.task.n_eval, cfg.seed)}]
    print(json.dumps(rows[-1]), flush=True)
    for index in range(1, (args.rounds if args.rounds is not None else cfg.loop.rounds) + 1):
        metrics = one_round(cfg, task, curriculum, model, tokenizer, index)
        rows.append({"round": index, **metrics,
                     "accuracy": accuracy_row(model, tokenizer, task, curriculum, cfg.task.n_eval, cfg.seed)})
        print(json.dumps(rows[-1]), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"rows": rows, "curriculum": curriculum.state_dict()}, f, indent=1)


if __name__ == "__main__":
    main()
