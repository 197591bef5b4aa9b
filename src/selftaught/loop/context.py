"""What every stage of a round uses, in one object: the run's files, the model, the task, the curriculum,
the seeds.

The round loop (loop/rounds.py) builds one `RoundContext` and hands it to each stage (sampling,
control, selection, rationalization, self-correction, pairs); a stage reads and writes through it
and never sees the loop. `RoundSettings` is what the controller may change from round to round.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.protocols import Task
from ..core.io import write_json
from ..core.records import Problem, Sample, SamplingParams, Score, from_dict
from ..core.seeds import seed_for
from ..curriculum.sources import build_curriculum, draw, eval_arms
from ..models.backends import generator_source
from ..tasks.verdicts import resolve_max_new_tokens, score_sample, section_name, truncation_warning
from .rundir import RunDir
from .state import ModelState


@dataclass(frozen=True)
class RoundSettings:
    """The settings a round samples and selects with (B-STaR's controller re-chooses them)."""

    temperature: float
    threshold: float | None  # select.threshold under rule `threshold`, else None
    n: int  # attempts per training problem

    def to_dict(self) -> dict[str, Any]:
        """The form metrics.json / metrics.jsonl keep under `settings`."""
        return asdict(self)


class RoundContext:
    """The per-round I/O of a run: sample into a file, score, sampling params, rule options, seeds."""

    def __init__(self, cfg: Config, run: RunDir, console: Console, task: Task, state: ModelState):
        self.cfg, self.run, self.console, self.task, self.state = cfg, run, console, task, state
        self.source: dict[str, Any] = {}  # generator_source of the last generation step
        n = cfg.sampling.n
        self.ks = sorted({1, n} | {k for k in (2, 4, 8, 16, 32, 64) if k < n})  # pass@k reported
        self.curriculum = build_curriculum(cfg, task)  # checks every level the recipe names
        self._initial_state = json.dumps(self.curriculum.state_dict())
        self.eval_arms = eval_arms(cfg, task, self.curriculum)
        self.eval_problems = self.held_out_problems()

    def seed(self, stage: str, index: int, k: int = 0) -> int:
        """The seed of `stage` in round `index` (its `k`-th call there): core/seeds.py's seed_for."""
        return seed_for(self.cfg.seed, stage, index, k)

    def held_out_problems(self) -> list[Problem]:
        """task.n_eval held-out problems from each eval arm (one arm, no level: the task's eval split as is)."""
        return [p for arm in self.eval_arms for p in draw(self.task, arm, "eval", self.cfg.task.n_eval, self.cfg.seed)]

    def train_problems(self, index: int) -> list[Problem]:
        """Round index's training problems: as many from each arm as the curriculum's plan says, its state being
        the one round index-1 left (rounds/NNN/curriculum.json). The seed is round index's (round 1's every
        round when loop.fresh_problems is off): `seed + round` for one task, as without a curriculum, and the
        curriculum stage's seed for a mixture (each source derives its own from it)."""
        self.restore_curriculum(index)
        r = index if self.cfg.loop.fresh_problems else 1
        seed = self.seed("curriculum", r, 1) if self.cfg.task.mixture else self.cfg.seed + r
        plan = self.curriculum.plan(index, self.cfg.task.n_train)
        return [p for arm, count in plan.items() if count for p in draw(self.task, arm, "train", count, seed)]

    def restore_curriculum(self, index: int) -> None:
        """Put the curriculum in the state round `index` starts from: the initial one for round 1, else the one
        saved after round index-1 (kept as it is when an older run directory has none)."""
        if index <= 1:
            self.curriculum.load_state_dict(json.loads(self._initial_state))
        elif self.run.has(index - 1, "curriculum.json"):
            self.curriculum.load_state_dict(json.loads(self.run.path(index - 1, "curriculum.json").read_text()))

    def update_curriculum(self, index: int, problems: list[Problem], samples: list[Sample],
                          scores: list[Score]) -> dict[str, Any]:
        """The curriculum learns from round index's scored samples; its state goes to rounds/NNN/curriculum.json
        (left untouched when a resumed round finds the same state there, as other finished steps are)."""
        metrics = self.curriculum.update(index, problems, samples, scores)
        state, path = self.curriculum.state_dict(), self.run.path(index, "curriculum.json")
        if not path.exists() or json.loads(path.read_text()) != json.loads(json.dumps(state)):
            write_json(path, state)
        return metrics

    def default_settings(self) -> RoundSettings:
        threshold = self.cfg.select.threshold if self.cfg.select.rule == "threshold" else None
        return RoundSettings(self.cfg.sampling.temperature, threshold, self.cfg.sampling.n)

    def params(self, temperature: float, seed: int) -> SamplingParams:
        s = self.cfg.sampling
        return SamplingParams(temperature, s.top_p, resolve_max_new_tokens(s.max_new_tokens, self.task), seed=seed)

    def rule_options(self, settings: RoundSettings, index: int) -> dict[str, Any]:
        """Keyword options of select.rule for round `index` under `settings`."""
        from ..select import rule_options

        return rule_options(self.cfg.select, self.seed("select", index), settings.threshold,
                            self.cfg.task.answer_match)

    def choose(self, problems: list[Problem], samples: list[Sample], scores: list[Score],
               settings: RoundSettings, index: int) -> list:
        """What select.rule keeps of round `index`'s samples, then select.dedupe_across and select.max_answer_share."""
        from ..select import select
        from ..select.balance import cap_answer_share, dedupe_across

        chosen = select(self.cfg.select.rule, problems, samples, scores, **self.rule_options(settings, index))
        chosen = dedupe_across(chosen, self.cfg.select.dedupe_across)
        return cap_answer_share(chosen, self.cfg.select.max_answer_share, self.seed("select", index, 1))

    def score(self, problems: list[Problem], samples: list[Sample]) -> list[Score]:
        """The task's verdict on each sample (`task.score(problem, completion)`), stamped with its sample id;
        `conflicting` / `truncated` as tasks/verdicts.py decides (task.multiple_answers)."""
        by_id = {p.id: p for p in problems}
        return [score_sample(self.task, by_id[x.problem_id], x, self.cfg.task.multiple_answers) for x in samples]

    def generate_step(self, model_round: int, index: int, problems: list[Problem], params: SamplingParams,
                      n: int, stem: str, label: str, budget: int | None = None, make=None,
                      limit_key: str | None = None) -> tuple[list[Sample], list[Score], float]:
        """Samples of `model_round`'s model into rounds/index/{stem}_samples.jsonl (unless there), scored.

        The training attempts use the bare names samples.jsonl / scores.jsonl. With a token `budget`, only the
        problems sampled before it ran out have samples (see `generate_budgeted`); `make()` (a search's
        attempts) replaces the sampler, and `limit_key` names the keys a truncation warning points at.
        Returns (samples, scores, seconds); scores are those of the samples, in their order.
        """
        samples_file, scores_file = ("samples.jsonl", "scores.jsonl") if stem == "samples" else (
            f"{stem}_samples.jsonl", f"{stem}_scores.jsonl")
        start = time.time()
        if self.run.has(index, samples_file):
            samples = [from_dict(Sample, d) for d in self.run.read_records(index, samples_file)]
        else:
            if make is not None:
                samples = make()
            elif budget is not None:
                samples = self.generate_budgeted(model_round, index, problems, params, n, label, budget)
            else:
                samples = self.generate(model_round, problems, params, n, label)
            self.run.write_records(index, samples_file, samples)
        scores = self.score(problems, samples)
        key = limit_key or f"{section_name(params)}.max_new_tokens"
        if warning := truncation_warning(scores, key, params.max_new_tokens):
            self.console.print(f"[yellow]warning: {label}: {warning}[/]")  # also in the metrics (eval/, rollout/)
        self.run.write_records(index, scores_file, scores)
        return samples, scores, round(time.time() - start, 2)

    def generate_budgeted(self, model_round: int, index: int, problems: list[Problem], params: SamplingParams,
                          n: int, label: str, budget: int) -> list[Sample]:
        """sampling.token_budget: the problems in a seeded shuffled order, sampling.budget_chunk at a time (each
        chunk its own seed), until `budget` tokens have been sampled; flat in the sampled problems' order."""
        order = list(problems)
        random.Random(self.seed("sample", index, 1)).shuffle(order)
        chunk, out, spent = self.cfg.sampling.budget_chunk, [], 0
        for c, start in enumerate(range(0, len(order), chunk)):
            if spent >= budget:
                break
            part = replace(params, seed=self.seed("sample", index, 2 + c))
            got = self.generate(model_round, order[start:start + chunk], part, n, f"{label} (chunk {c + 1})")
            out += got
            spent += sum(s.n_tokens for s in got)
        if spent < budget:
            self.console.print(f"[yellow]warning: {label}: sampling.token_budget {budget} not reached ({spent} tokens "
                               f"from all {len(problems)} problems); raise task.n_train for equal budgets[/]")
        return out

    def generate(self, model_round: int, problems: list[Problem], params: SamplingParams, n: int,
                 label: str) -> list[Sample]:
        """`n` samples per problem from `model_round`'s model, flat in problem order (no file written)."""
        section = self.cfg.eval if params.greedy else self.cfg.sampling
        generator = self.state.generator(model_round, section.batch_size, section.matmul_dtype)
        self.source = generator_source(generator)  # which backend (and server) made these samples
        narrow = getattr(generator, "matmul_dtype", None)
        note = f", {str(narrow).removeprefix('torch.')} matmuls" if narrow is not None else ""
        self.console.print(f"{label}: {len(problems)} problems x {n} (T={params.temperature:g}{note})")
        groups = generator.generate([p.prompt for p in problems], params, n=n, problem_ids=[p.id for p in problems])
        return [x for g in groups for x in g]
