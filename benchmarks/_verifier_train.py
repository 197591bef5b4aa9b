"""The training half of benchmarks/verifier.py: the training attempts, the outcome verifier, and with --prm
the Monte-Carlo step labels and the process reward model, each kept under --out and read back on a rerun.

    OUT/settings.json         the settings the files below were made with (a rerun with others is refused)
    OUT/train_samples.jsonl   k attempts per training problem at T=0.7
    OUT/verifier/             the outcome verifier (train.verifier.train_verifier, kind outcome)
    OUT/step_labels.jsonl     --prm: MC step labels of a balanced draw of the attempts (scoring.mc_labels)
    OUT/prm/                  --prm: the process reward model trained on them (kind prm)
    OUT/verifier_dpo/         --dpo: V-STaR's verifier, a copy of the model DPO-trained on (correct, incorrect)
                              pairs of the same attempts, up to 4 a problem (train.vstar, kind dpo)

The step labels are made as the loop makes a round's (loop/step_labels.py): `balanced_draw` picks up to
--label-samples attempts with at least one step, half correct where there are enough, and
`mc_step_labels` continues every step's prefix --label-k times with the same sampler at the same
temperature, recording the exact per-step truth where the task has one; the PRM trains on the hard labels
(`prm_records(..., "hard")`, the loop's default `verifier.prm_labels`).
"""

from __future__ import annotations

import gc
from dataclasses import replace
import json
from typing import Any

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.io import read_jsonl, write_json, write_jsonl
from selftaught.core.records import Problem, Sample, Score, from_dict
from selftaught.core.seeds import seed_for
from selftaught.inference import Context
from selftaught.loop.step_labels import balanced_draw, label_metrics, prm_records
from selftaught.metrics.step_labels import step_label_agreement
from selftaught.scoring.learned import read_verifier
from selftaught.scoring.mc_labels import MCSettings, mc_step_labels
from selftaught.tasks.step_truth import step_truth_for
from selftaught.tasks.steps import split_steps, step_separator
from selftaught.train.prm import VerifierTrainConfig
from selftaught.train.verifier import is_trained, outcome_records, train_verifier
from strategies import make_generator

# V-STaR's verifier trains with the dpo recipe's settings (recipes/dpo.yaml), fixed here rather than tuned
# on the held-out pool: learning rate 5e-6, 2 epochs, batch 8, beta 0.1; up to 4 pairs per problem.
VSTAR = {"learning_rate": 5e-6, "epochs": 2, "batch_size": 8, "beta": 0.1, "pairs_per_problem": 4}
TEMPERATURE = 0.7  # training attempts, step-label continuations and the held-out pool alike
# what the files under --out depend on; --eval-problems and --threads are free to change between runs
SETTINGS = ("task", "model", "prm", "seed", "k", "train_problems", "max_new_tokens", "backend", "epochs", "lr",
            "batch_size", "dedupe", "label_samples", "label_k")


class Lazy:
    """The generator, built on first use and dropped while a verifier trains (one model in memory at a time)."""

    def __init__(self, backend: str, model: str):
        self.backend, self.model, self.generator = backend, model, None

    def get(self):
        if self.generator is None:
            self.generator, self.backend = make_generator(self.backend, 64, self.model)
        return self.generator

    def release(self) -> None:
        self.generator = None
        gc.collect()


def check_settings(args) -> None:
    """Record the settings in OUT/settings.json, or refuse (ConfigError) when an earlier run there used others:
    its training pool, step labels and trained models would be read back as if made with these."""
    path = args.out / "settings.json"
    now = {key: getattr(args, key) for key in SETTINGS}
    if path.exists():
        before = json.loads(path.read_text())
        diff = [f"{key}: {before.get(key)!r} there, {value!r} now" for key, value in now.items()
                if before.get(key) != value]
        if diff:
            raise ConfigError(f"{args.out} holds a run made with other settings ({'; '.join(diff)}); its training "
                              "attempts and trained verifiers would be reused. Give a new --out, or the same settings.")
    elif ((args.out / "train_samples.jsonl").exists() or (args.out / "verifier").exists()) and \
            (args.task, args.model, args.prm) != ("basic_arithmetic", "default", False):
        # an --out of the benchmark's first version (no settings.json): it only ran that combination
        raise ConfigError(f"{args.out} holds training files without a settings.json, made by an earlier version of "
                          "this benchmark (basic_arithmetic, the default model, no --prm); give a new --out.")
    write_json(path, now)


def train_attempts(task, lazy: Lazy, args, problems: list[Problem]) -> tuple[list[Sample], list[Score]]:
    """k attempts per training problem (read back from train_samples.jsonl when there) and their scores."""
    cache = args.out / "train_samples.jsonl"
    if cache.exists():  # sampling is deterministic in the settings (checked above): this only saves time
        samples = [from_dict(Sample, d) for d in read_jsonl(cache)]
    else:
        ctx = Context(task, lazy.get(), seed=args.seed + 1)
        samples = [s for g in ctx.pool(TEMPERATURE, 1.0, args.max_new_tokens).take(problems, args.k) for s in g]
        write_jsonl(cache, samples)
    by_id = {p.id: p for p in problems}
    return samples, [replace(task.score(by_id[s.problem_id], s.text), sample_id=s.id) for s in samples]


def train_outcome(args, problems: list[Problem], samples: list[Sample], scores: list[Score]) -> dict[str, Any]:
    """The outcome verifier's training metrics (trained now unless OUT/verifier holds it)."""
    folder = args.out / "verifier"
    if is_trained(folder):
        return read_verifier(folder)["metrics"]
    records = outcome_records(problems, samples, scores, dedupe=args.dedupe)
    print(f"train pool: {len(samples)} samples ({sum(s.correct for s in scores)} correct), {len(records)} records "
          f"({sum(r['labels'][0] for r in records)} correct)", flush=True)
    cfg = VerifierTrainConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size)
    return train_verifier(args.model, records, "outcome", folder, cfg, seed=args.seed).metrics()


def train_vstar(args, problems: list[Problem], samples: list[Sample], scores: list[Score]) -> dict[str, Any]:
    """--dpo: V-STaR's DPO verifier's training metrics (trained now unless OUT/verifier_dpo holds it)."""
    from selftaught.core.config import TrainConfig
    from selftaught.train.vstar import solution_pairs, train_dpo_verifier

    folder = args.out / "verifier_dpo"
    if is_trained(folder):
        return read_verifier(folder)["metrics"]
    pairs = solution_pairs(problems, samples, scores, per_problem=VSTAR["pairs_per_problem"],
                           seed=seed_for(args.seed, "verifier", 0, 2))
    print(f"V-STaR verifier: {len(pairs)} (correct, incorrect) pairs, up to {VSTAR['pairs_per_problem']} a problem",
          flush=True)
    cfg = TrainConfig(method="dpo", learning_rate=VSTAR["learning_rate"], epochs=VSTAR["epochs"],
                      batch_size=VSTAR["batch_size"], dpo={"beta": VSTAR["beta"]})
    return {**train_dpo_verifier(args.model, pairs, folder, cfg, seed=seed_for(args.seed, "verifier", 0, 3)).metrics(),
            "pairs": len(pairs)}


def label_steps(task, lazy: Lazy, args, problems: list[Problem], samples: list[Sample],
                scores: list[Score]) -> list[dict[str, Any]]:
    """MC step labels of a balanced draw of the training attempts (read back from step_labels.jsonl when there)."""
    path = args.out / "step_labels.jsonl"
    if path.exists():
        return read_jsonl(path)
    sep = step_separator(task)
    usable = [(s, sc.verdict == "correct") for s, sc in zip(samples, scores) if split_steps(s.text, sep)]
    chosen = balanced_draw(usable, args.label_samples, seed_for(args.seed, "steps", 0))
    if not chosen:
        raise DataError(f"none of the {len(samples)} training attempts has a step to label (all empty); "
                        "raise --max-new-tokens or --train-problems.")
    settings = MCSettings(k=args.label_k, temperature=TEMPERATURE, max_new_tokens=args.max_new_tokens,
                          seed=seed_for(args.seed, "steps", 0, 1))
    by_id = {p.id: p for p in problems}
    used = [by_id[pid] for pid in dict.fromkeys(s.problem_id for s in chosen)]
    ids = {s.id for s in chosen}
    print(f"step labels: {len(chosen)} attempts ({sum(ok for s, ok in usable if s.id in ids)} correct), "
          f"k={args.label_k} continuations per step", flush=True)
    records = mc_step_labels(lazy.get(), task, used, chosen, settings, truth=step_truth_for(task) is not None)
    write_jsonl(path, records)
    return records


def train_process(task, args, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The PRM's training metrics (trained now unless OUT/prm holds it) and its step labels' metrics."""
    folder = args.out / "prm"
    if is_trained(folder):
        metrics = read_verifier(folder)["metrics"]
    else:
        cfg = VerifierTrainConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size)
        metrics = train_verifier(args.model, prm_records(records, "hard"), "prm", folder, cfg,
                                 separator=step_separator(task), seed=seed_for(args.seed, "verifier", 0, 1)).metrics()
    agreement = step_label_agreement(records)
    return {"train": metrics, "step_labels": label_metrics(records),
            "truth_by_k": agreement["by_k"] if agreement["solutions"] else None}


def train_all(task, lazy: Lazy, args) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """(outcome verifier metrics, PRM metrics or None, V-STaR verifier metrics or None): sample and label what
    is not on disk, then train."""
    problems = task.problems("train", args.train_problems, args.seed)
    need = (not is_trained(args.out / "verifier") or (args.prm and not (args.out / "step_labels.jsonl").exists())
            or (args.dpo and not is_trained(args.out / "verifier_dpo")))
    samples, scores = train_attempts(task, lazy, args, problems) if need else ([], [])
    records = label_steps(task, lazy, args, problems, samples, scores) if args.prm else None
    lazy.release()  # the sampler is done with the training problems until the held-out pool
    outcome = train_outcome(args, problems, samples, scores)
    vstar = train_vstar(args, problems, samples, scores) if args.dpo else None
    return outcome, train_process(task, args, records) if records is not None else None, vstar
