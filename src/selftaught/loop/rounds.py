"""The round loop, one page: sample -> score -> select -> train -> evaluate, each step writing its file.

Round 0 evaluates the starting model. Round r >= 1 samples `sampling.n` attempts for `task.n_train`
training problems, scores them with the task's verifier, keeps the selected ones, fine-tunes the
model from round r-1 on them (iterative RFT), and evaluates greedy accuracy on the held-out split.
Rerunning on the same run directory skips every step whose file already exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.errors import SelftaughtError
from ..core.records import Problem, Sample, SamplingParams, Score, from_dict
from ..metrics import round_metrics, wilson_interval
from ..select import select, to_sft_record
from .rundir import RunDir
from .state import ModelState
from .table import round_table


@dataclass
class Loop:
    cfg: Config
    run: RunDir
    console: Console = field(default_factory=Console)

    def __post_init__(self) -> None:
        from ..tasks import build_task

        self.task = build_task(self.cfg.task)
        self.eval_problems = self.task.problems("eval", self.cfg.task.n_eval, self.cfg.seed)
        if not self.train_problems(1):
            raise SelftaughtError(f"Task {self.task.name}: the training split is empty.")
        self.state = ModelState(self.cfg, self.run, self.console)

    def train_problems(self, index: int) -> list[Problem]:
        seed = self.cfg.seed + (index if self.cfg.loop.fresh_problems else 1)
        return self.task.problems("train", self.cfg.task.n_train, seed)

    def run_all(self, fresh: bool = False) -> list[dict[str, Any]]:
        resumed = self.run.prepare(self.cfg, fresh)
        done = self.run.finished_rounds()
        if resumed and done:
            self.console.print(f"[bold]Resuming[/] {self.run.root}: rounds {done[0]}..{done[-1]} finished.")
        for index in range(0, self.cfg.loop.rounds + 1):
            if index in done:
                continue
            self.run_round(index)
            self.console.print(round_table(self.run.all_metrics(), self.cfg))
        return self.run.all_metrics()

    def run_round(self, index: int) -> dict[str, Any]:
        self.console.rule(f"round {index}")
        metrics: dict[str, Any] = {"round": index}
        start = time.time()
        if index > 0:
            problems = self.train_problems(index)
            samples, scores, t_sample = self.sample_and_score(index, problems)
            metrics.update(_prefixed("rollout", round_metrics(problems, samples, scores)))
            metrics["time/sample"] = t_sample
            selected = self.select_step(index, problems, samples, scores)
            metrics["select/kept"] = len(selected)
            metrics["select/problems"] = len({s["problem_id"] for s in selected})
            metrics.update(self.state.train(index, selected))
        metrics.update(self.evaluate(index))
        metrics["time/round"] = round(time.time() - start, 2)
        metrics["checkpoint"] = self.state.checkpoint_of(index)
        metrics["settings"] = {"temperature": self.cfg.sampling.temperature, "n": self.cfg.sampling.n}
        self.run.write_metrics(index, metrics)
        if self.cfg.loop.keep_checkpoints == "last" and index > 0:
            self.run.prune_checkpoints(keep=index)
        return metrics

    def sample_and_score(self, index: int, problems: list[Problem]):
        """Training attempts and their verdicts (samples.jsonl, scores.jsonl)."""
        s = self.cfg.sampling
        params = SamplingParams(s.temperature, s.top_p, s.max_new_tokens, seed=self.cfg.seed * 1000 + index)
        return self.generate_step(index - 1, index, problems, params, s.n, "samples.jsonl", "scores.jsonl",
                                  "sampling")

    def evaluate(self, index: int) -> dict[str, Any]:
        params = SamplingParams(0.0, 1.0, self.cfg.eval.max_new_tokens, seed=self.cfg.seed)
        problems = self.eval_problems
        samples, scores, seconds = self.generate_step(
            index, index, problems, params, 1, "eval_samples.jsonl", "eval_scores.jsonl", "held-out eval")
        correct = sum(sc.correct for sc in scores)
        low, high = wilson_interval(correct, len(scores))
        return {
            "eval/accuracy": correct / len(scores),
            "eval/accuracy_low": low,
            "eval/accuracy_high": high,
            "eval/n": len(scores),
            "eval/unparsed_rate": sum(sc.verdict == "unparsed" for sc in scores) / len(scores),
            "eval/completion_length": sum(x.n_tokens for x in samples) / len(samples),
            "time/eval": seconds,
        }

    def generate_step(self, model_round, index, problems, params, n, samples_file, scores_file, label):
        """Generate with `model_round`'s model into round `index` (unless the file exists) and score.

        Returns (samples, scores, seconds).
        """
        start = time.time()
        if self.run.has(index, samples_file):
            samples = [from_dict(Sample, d) for d in self.run.read_records(index, samples_file)]
        else:
            self.console.print(f"{label}: {len(problems)} problems x {n}")
            generator = self.state.generator(model_round)
            groups = generator.generate([p.prompt for p in problems], params, n=n,
                                        problem_ids=[p.id for p in problems])
            samples = [x for g in groups for x in g]
            self.run.write_records(index, samples_file, samples)
        by_id = {p.id: p for p in problems}
        scores = [self.task.score(by_id[x.problem_id], x.text) for x in samples]
        for sc, x in zip(scores, samples):
            sc.sample_id = x.id
        self.run.write_records(index, scores_file, scores)
        return samples, scores, round(time.time() - start, 2)

    def select_step(self, index, problems, samples, scores) -> list[dict[str, Any]]:
        if self.run.has(index, "selected.jsonl"):
            return self.run.read_records(index, "selected.jsonl")
        sel = self.cfg.select
        chosen = select(sel.rule, problems, samples, scores, dedupe=sel.dedupe,
                        max_per_problem=sel.max_per_problem, seed=self.cfg.seed + index)
        records = [dict(to_sft_record(c), problem_id=c.problem_id, sample_id=c.sample_id) for c in chosen]
        self.run.write_records(index, "selected.jsonl", records)
        return records


def _prefixed(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def run_loop(cfg: Config, run_dir: str, fresh: bool = False, console: Console | None = None):
    """Run (or resume) every round of `cfg` in `run_dir`; returns the metrics of all rounds."""
    loop = Loop(cfg, RunDir(run_dir), console or Console())
    return loop.run_all(fresh=fresh)
