"""The round loop, one page: [control] -> [curriculum] -> sample -> score -> select -> train -> evaluate.

Round 0 evaluates the starting model. Round r >= 1 samples `sampling.n` attempts for `task.n_train`
training problems with round r-1's model, scores them with the task's verifier, selects training
records, fine-tunes (from round r-1's model for `rft`/`bstar`, from the base model for `rest_em`),
and evaluates greedy accuracy on the held-out split. `train.method` picks the trainer and what it
trains on: `sft` the selected samples, `dpo` pairs of them (and, with `select.pairs`, of revisions of a
wrong attempt: loop/correction.py), `grpo` the problems (loop/train_data.py).
The training step runs in this process or under `accelerate launch` (`launcher`, loop/state.py).
The curriculum (curriculum.mode) plans which arms (source, level) the round's problems come from and
learns from their scored samples (loop/context.py, curriculum/). `bstar` first re-chooses the
temperature (and threshold) on a probe subset (loop/control.py). Every
step writes its file into rounds/NNN/; rerunning on the same run directory skips every step whose
file exists. The stages receive the round's `RoundContext` (loop/context.py), never the loop;
cross-key config rules are checked when the config loads (core/config.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.errors import SelftaughtError
from ..metrics import round_metrics
from ..metrics.collapse import collapse_warning
from ..models.openai_backend import check_server_follows
from ..tasks.demos import apply_demos
from .context import RoundContext
from .control import choose_settings
from .exploit import scorer_aurocs
from .rundir import RunDir
from .search_rollouts import check_search
from .stages import curriculum_step, evaluate, prefixed, probe, sample_and_score, training_data
from .synthesis import check_synthesis, synthesis_stage
from .state import ModelState
from .step_labels import check_step_label_task, step_labels_stage
from .tracking import Tracker, check_tracker
from .verifier import prune_verifiers, verifier_stage


@dataclass
class Loop:
    cfg: Config
    run: RunDir
    console: Console = field(default_factory=Console)
    launcher: str = "local"  # "accelerate": each round's training step under `accelerate launch`
    accelerate_config: str | None = None

    def __post_init__(self) -> None:
        from ..tasks import build_task

        check_tracker(self.cfg.train.report_to)  # the package is there (the config itself was checked at load)
        check_server_follows(self.cfg)  # a loop-only rule: `eval` with the same recipe may use any server
        self.task = build_task(self.cfg.task)
        check_synthesis(self.cfg, self.task)  # a task that cannot make problems fails before a model loads
        check_step_label_task(self.cfg, self.task)  # step labels (a PRM) of a task without them: before a model loads
        check_search(self.cfg, self.task)  # sampling.strategy beam_search / dvts: before a model loads
        self.state = ModelState(self.cfg, self.run, self.console, task=self.task, launcher=self.launcher,
                                accelerate_config=self.accelerate_config)
        self.ctx = RoundContext(self.cfg, self.run, self.console, self.task, self.state)
        if not self.ctx.train_problems(1):
            raise SelftaughtError(f"Task {self.task.name}: the training split is empty.")

    def run_all(self, fresh: bool = False) -> list[dict[str, Any]]:
        resumed = self.run.prepare(self.cfg, fresh)
        if apply_demos(self.task, self.cfg, self.run.root, self.state.generator, self.console.print):
            self.ctx.eval_problems = self.ctx.held_out_problems()
        done = self.run.finished_rounds()
        if resumed and done:
            self.console.print(f"[bold]Resuming[/] {self.run.root}: rounds {done[0]}..{done[-1]} finished.")
        for note in self.run.notes:
            self.console.print(f"[bold]Note:[/] {note}.")
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
        """One round, stage by stage; each stage writes its file into rounds/NNN/."""
        ctx, cfg = self.ctx, self.cfg
        ctx.source = {}
        ctx.console.rule(f"round {index}")
        metrics: dict[str, Any] = {"round": index}
        start = time.time()
        settings = ctx.default_settings()
        if index > 0:
            if cfg.loop.kind == "bstar":
                settings, control = choose_settings(ctx, index)
                metrics.update(control)
            tick = time.time()
            problems = ctx.train_problems(index)  # the curriculum's plan, then its arms' problems drawn
            curriculum_s = time.time() - tick
            problems, samples, scores, metrics["time/sample"] = sample_and_score(ctx, index, problems, settings)
            metrics.update(prefixed("rollout", round_metrics(problems, samples, scores, ks=ctx.ks)))
            metrics.update(prefixed("exploit", scorer_aurocs(samples, scores)))
            tick = time.time()
            metrics.update(curriculum_step(ctx, index, problems, samples, scores))  # the round's own problems
            metrics["time/curriculum"] = round(curriculum_s + time.time() - tick, 3)
            problems, samples, scores, synth = synthesis_stage(ctx, index, problems, samples, scores, settings)
            metrics.update(prefixed("synth", synth))
            metrics.update(step_labels_stage(ctx, index, problems, samples, scores, settings))  # MC step labels (PRM data)
            metrics.update(verifier_stage(ctx, index, problems, samples, scores))  # learned verifiers (verifier.kinds)
            records, selection = training_data(ctx, index, problems, samples, scores, settings)
            metrics.update(prefixed("select", selection))
            metrics["rollout/balance"] = metrics.pop("select/balance", None)
            base = 0 if cfg.loop.kind == "rest_em" else index - 1
            metrics.update(self.state.train(index, records, base))
        metrics.update(evaluate(ctx, index))
        if warning := collapse_warning(metrics):
            self.console.print(warning, style="yellow", markup=False)
        if cfg.probe.n_problems:
            metrics.update(probe(ctx, index))
        metrics["time/round"] = round(time.time() - start, 2)
        metrics["checkpoint"] = self.state.checkpoint_of(index)
        metrics["settings"] = settings.to_dict()
        if ctx.source:  # steps read back from disk on a resume leave it empty
            metrics["generation"] = ctx.source
        self.run.write_metrics(index, metrics)
        if cfg.loop.keep_checkpoints == "last" and index > 0:
            self.run.prune_checkpoints(keep=index)
            prune_verifiers(ctx)
        return metrics


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
