"""The round loop, one page: [control] -> sample -> score -> select -> train -> evaluate.

Round 0 evaluates the starting model. Round r >= 1 samples `sampling.n` attempts for `task.n_train`
training problems with round r-1's model, scores them with the task's verifier, selects training
records, fine-tunes (from round r-1's model for `rft`/`bstar`, from the base model for `rest_em`),
and evaluates greedy accuracy on the held-out split. `train.method` picks the trainer and what it
trains on: `sft` the selected samples, `dpo` pairs of them (and, with `select.pairs`, of revisions of a
wrong attempt: loop/correction.py), `grpo` the problems (loop/train_data.py).
The training step runs in this process or under `accelerate launch` (`launcher`, loop/state.py).
`bstar` first re-chooses the temperature (and threshold) on a probe subset (loop/control.py). Every
step writes its file into rounds/NNN/; rerunning on the same run directory skips every step whose
file exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.errors import ConfigError, SelftaughtError
from ..core.records import Problem, Sample, SamplingParams, from_dict
from ..metrics import eval_metrics, round_metrics
from ..metrics.collapse import collapse_warning
from ..tasks.demos import apply_demos
from ..select import question_only, select, selection_metrics, to_sft_record
from .control import choose_settings
from .exploit import scorer_aurocs
from .rationalize import rationalize
from .rundir import RunDir
from .state import ModelState
from .tracking import Tracker, check_tracker
from .train_data import grpo_step, pairs_step


@dataclass
class Loop:
    cfg: Config
    run: RunDir
    console: Console = field(default_factory=Console)
    launcher: str = "local"  # "accelerate": each round's training step under `accelerate launch`
    accelerate_config: str | None = None

    def __post_init__(self) -> None:
        from ..tasks import build_task

        if self.cfg.select.rationalize and self.cfg.select.rule != "correct":
            raise ConfigError("select.rationalize needs select.rule: correct (rationales are kept when they reach "
                              "the gold answer).")
        check_method(self.cfg)
        check_tracker(self.cfg.train.report_to)
        self.task = build_task(self.cfg.task)
        self.eval_problems = self.task.problems("eval", self.cfg.task.n_eval, self.cfg.seed)
        if not self.train_problems(1):
            raise SelftaughtError(f"Task {self.task.name}: the training split is empty.")
        n = self.cfg.sampling.n
        self.ks = sorted({1, n} | {k for k in (2, 4, 8, 16, 32, 64) if k < n})
        self.state = ModelState(self.cfg, self.run, self.console, task=self.task, launcher=self.launcher,
                                accelerate_config=self.accelerate_config)

    def train_problems(self, index: int) -> list[Problem]:
        seed = self.cfg.seed + (index if self.cfg.loop.fresh_problems else 1)
        return self.task.problems("train", self.cfg.task.n_train, seed)

    def run_all(self, fresh: bool = False) -> list[dict[str, Any]]:
        resumed = self.run.prepare(self.cfg, fresh)
        if apply_demos(self.task, self.cfg, self.run.root, self.state.generator, self.console.print):
            self.eval_problems = self.task.problems("eval", self.cfg.task.n_eval, self.cfg.seed)
        done = self.run.finished_rounds()
        if resumed and done:
            self.console.print(f"[bold]Resuming[/] {self.run.root}: rounds {done[0]}..{done[-1]} finished.")
        tracker = Tracker(self.cfg, self.run.root)
        try:
            for index in range(0, self.cfg.loop.rounds + 1):
                if index in done:
                    continue
                tracker.log(self.run_round(index), index)
                self.after_round()
        finally:
            tracker.close()
        return self.run.all_metrics()

    def after_round(self) -> None:
        """Hook run after each finished round (the CLI prints the round table and writes the report)."""

    def run_round(self, index: int) -> dict[str, Any]:
        self.console.rule(f"round {index}")
        metrics: dict[str, Any] = {"round": index}
        start = time.time()
        settings = self.default_settings()
        if index > 0:
            if self.cfg.loop.kind == "bstar":
                settings, control = choose_settings(self, index)
                metrics.update(control)
            problems = self.train_problems(index)
            samples, scores, metrics["time/sample"] = self.sample_and_score(index, problems, settings)
            metrics.update(_prefixed("rollout", round_metrics(problems, samples, scores, ks=self.ks)))
            metrics.update(_prefixed("exploit", scorer_aurocs(samples, scores)))
            records, selection = self.training_data(index, problems, samples, scores, settings)
            metrics.update(_prefixed("select", selection))
            metrics["rollout/balance"] = metrics.pop("select/balance", None)
            base = 0 if self.cfg.loop.kind == "rest_em" else index - 1
            metrics.update(self.state.train(index, records, base))
        metrics.update(self.evaluate(index))
        if warning := collapse_warning(metrics): self.console.print(warning, style="yellow", markup=False)  # noqa: E701
        if self.cfg.probe.n_problems:
            metrics.update(self.probe(index))
        metrics["time/round"] = round(time.time() - start, 2)
        metrics["checkpoint"] = self.state.checkpoint_of(index)
        metrics["settings"] = settings
        self.run.write_metrics(index, metrics)
        if self.cfg.loop.keep_checkpoints == "last" and index > 0:
            self.run.prune_checkpoints(keep=index)
        return metrics

    def default_settings(self) -> dict[str, Any]:
        threshold = self.cfg.select.threshold if self.cfg.select.rule == "threshold" else None
        return {"temperature": self.cfg.sampling.temperature, "threshold": threshold, "n": self.cfg.sampling.n}

    def params(self, temperature: float, seed: int) -> SamplingParams:
        s = self.cfg.sampling
        return SamplingParams(temperature, s.top_p, s.max_new_tokens, seed=seed)

    def sample_and_score(self, index: int, problems: list[Problem], settings: dict[str, Any]):
        """Training attempts with round index-1's model and their verdicts (samples/scores.jsonl)."""
        params = self.params(settings["temperature"], self.cfg.seed * 1000 + index)
        return self.generate_step(index - 1, index, problems, params, self.cfg.sampling.n, "samples", "sampling")

    def evaluate(self, index: int) -> dict[str, Any]:
        params = SamplingParams(0.0, 1.0, self.cfg.eval.max_new_tokens, seed=self.cfg.seed)
        samples, scores, seconds = self.generate_step(index, index, self.eval_problems, params, 1, "eval",
                                                      "held-out eval")
        return {**eval_metrics(self.eval_problems, samples, scores), "time/eval": seconds}

    def probe(self, index: int) -> dict[str, Any]:
        """pass@k and diversity of round index's model on a fixed held-out subset, at a fixed temperature."""
        problems = self.eval_problems[: self.cfg.probe.n_problems]
        params = self.params(self.cfg.sampling.temperature, self.cfg.seed * 1000 + 500)
        samples, scores, seconds = self.generate_step(index, index, problems, params, self.cfg.sampling.n,
                                                      "probe", "probe")
        out = _prefixed("probe", round_metrics(problems, samples, scores, ks=self.ks))
        out["time/probe"] = seconds
        return out

    def generate_step(self, model_round: int, index: int, problems, params, n: int, stem: str, label: str):
        """Samples of `model_round`'s model into rounds/index/{stem}_samples.jsonl (unless there), scored.

        The training attempts use the bare names samples.jsonl / scores.jsonl. Returns
        (samples, scores, seconds).
        """
        samples_file, scores_file = ("samples.jsonl", "scores.jsonl") if stem == "samples" else (
            f"{stem}_samples.jsonl", f"{stem}_scores.jsonl")
        start = time.time()
        if self.run.has(index, samples_file):
            samples = [from_dict(Sample, d) for d in self.run.read_records(index, samples_file)]
        else:
            section = self.cfg.eval if params.greedy else self.cfg.sampling
            generator = self.state.generator(model_round, section.batch_size, section.matmul_dtype)
            narrow = getattr(generator, "matmul_dtype", None)
            note = f", {str(narrow).removeprefix('torch.')} matmuls" if narrow is not None else ""
            self.console.print(f"{label}: {len(problems)} problems x {n} (T={params.temperature:g}{note})")
            groups = generator.generate([p.prompt for p in problems], params, n=n,
                                        problem_ids=[p.id for p in problems])
            samples = [x for g in groups for x in g]
            self.run.write_records(index, samples_file, samples)
        scores = self.score(problems, samples)
        self.run.write_records(index, scores_file, scores)
        return samples, scores, round(time.time() - start, 2)

    def score(self, problems: list[Problem], samples: list[Sample]):
        by_id = {p.id: p for p in problems}
        return [self.task.score(by_id[x.problem_id], x.text, sample_id=x.id) for x in samples]

    def training_data(self, index, problems, samples, scores, settings):
        """(records the trainer reads, select/* metrics): selected samples, DPO pairs or GRPO problems."""
        method = self.cfg.train.method
        if method == "dpo":
            return pairs_step(self, index, problems, samples, scores, settings)
        if method == "grpo":
            return grpo_step(self, index, problems, samples, scores)
        records = self.select_step(index, problems, samples, scores, settings)
        return records, selection_metrics(problems, samples, scores, records, n_star=self.cfg.select.n_star)

    def select_step(self, index, problems, samples, scores, settings) -> list[dict[str, Any]]:
        """Training records (selected.jsonl): the rule's choice, plus STaR rationales if asked."""
        if self.run.has(index, "selected.jsonl"):
            return self.run.read_records(index, "selected.jsonl")
        chosen = select(self.cfg.select.rule, problems, samples, scores, **self.rule_options(settings, index))
        if self.cfg.select.rationalize:
            chosen += rationalize(self, index, problems, samples, scores, settings)
        if self.cfg.select.strip_few_shot:  # STaR: fine-tune on question -> rationale, no worked examples
            chosen = [replace(c, prompt=question_only(c.prompt)) for c in chosen]
        records = [dict(to_sft_record(c), problem_id=c.problem_id, sample_id=c.sample_id, rule=c.rule)
                   for c in chosen]
        self.run.write_records(index, "selected.jsonl", records)
        return records

    def rule_options(self, settings: dict[str, Any], seed: int) -> dict[str, Any]:
        sel = self.cfg.select
        opts: dict[str, Any] = {"dedupe": sel.dedupe, "max_per_problem": sel.max_per_problem,
                                "seed": self.cfg.seed + seed}
        if sel.rule == "threshold":
            opts.update(threshold=settings["threshold"], key=sel.score)
        elif sel.rule == "majority":
            opts.update(min_share=sel.min_share)
        return opts


def _prefixed(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def check_method(cfg: Config) -> None:
    """Combinations of train.method with other keys that cannot work, refused before a model loads."""
    method, rule = cfg.train.method, cfg.select.rule
    if method == "dpo" and rule not in ("correct", "majority"):
        raise ConfigError(f"train.method dpo pairs a right with a wrong sample: select.rule must be `correct` "
                          f"(verifier) or `majority` (pseudo-label), got `{rule}`.")
    if cfg.select.pairs != "answer" and method != "dpo":
        raise ConfigError(f"select.pairs {cfg.select.pairs} builds DPO pairs: it needs train.method dpo, got {method}.")
    if cfg.select.pairs != "answer" and rule != "correct":
        raise ConfigError(f"select.pairs {cfg.select.pairs}: revisions are judged by the verifier, so select.rule "
                          f"must be `correct`, got `{rule}`.")
    if method != "sft" and cfg.select.rationalize:
        raise ConfigError(f"select.rationalize adds SFT records; it does not apply to train.method {method}.")
    if method == "grpo" and cfg.loop.kind == "bstar":
        raise ConfigError("loop.kind bstar re-chooses the temperature of the selection step each round; grpo "
                          "samples its own groups at sampling.temperature: use loop.kind rft or rest_em.")
    if method == "grpo" and cfg.sampling.n < 2:
        raise ConfigError("train.method grpo compares completions within a group: sampling.n must be >= 2.")


def run_loop(cfg: Config, run_dir: str, fresh: bool = False, console: Console | None = None,
             after_round=None, launcher: str = "local", accelerate_config: str | None = None) -> list[dict[str, Any]]:
    """Run (or resume) every round of `cfg` in `run_dir`; returns the metrics of all rounds.

    `after_round(run_dir)` is called after each finished round (the CLI writes the report there).
    `launcher="accelerate"` runs each training step under `accelerate launch --config_file
    accelerate_config` (sampling and evaluation stay in this process).
    """
    loop = Loop(cfg, RunDir(run_dir), console or Console(), launcher=launcher, accelerate_config=accelerate_config)
    if after_round is not None:
        loop.after_round = lambda: after_round(run_dir)
    return loop.run_all(fresh=fresh)
