"""Monte-Carlo step labels (Math-Shepherd; OmegaPRM's first-error search): the training data of a
process reward model, made from the model's own solutions and the task's verifier.

For a solution split into steps (`tasks.steps.split_steps`), step i's prefix is the prompt plus
steps[:i+1] (`tasks.steps.continuation_prompt`); k continuations are sampled from it and scored by the
task's verifier. Its *soft* label is the share of correct continuations, its *hard* label whether any
was correct. The last step's prefix is the whole solution, so a finished solution's last step takes its
own verdict (no sampling); an unfinished one (no final answer, or cut at the token limit) is continued
like any other prefix. With `search="binary"` only incorrect solutions are searched, and only the prefixes a
binary search for the first 0-valued step needs (`tasks.steps.first_error_search`): the steps before
the found one are labelled right, it wrong, the rest dropped, as OmegaPRM does; a correct solution's
steps are all right (each prefix reaches the right answer through the solution itself).

The k continuations of a prefix are one prompt with n=k: the fast sampler prefills it once and copies
its KV into k slots. `reprefill=True` sends k copies of the prompt with n=1 instead (every continuation
prefills its prefix again): the plain loop the benchmark compares with.

One record per solution, in TRL's stepwise shape plus selftaught's keys (`step_labels.jsonl`):
`prompt`, `completions` (steps), `labels` (hard, bool), `soft_labels`, `mc_correct` (per step, each
continuation's correctness), `problem_id`, `sample_id`, `verdict`, `k`, `search`, `first_error` (first
hard-False step), `separator`, and with an exact truth (`tasks.step_truth`) `truth` and `truth_first_error`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..core.errors import ConfigError, DataError
from ..core.protocols import Generator, Task
from ..core.records import Problem, Sample, SamplingParams
from ..tasks.step_truth import STEP_TRUTHS, step_truth_for
from ..tasks.steps import continuation_prompt, first_error_search, prefix_text, split_steps, step_separator

__all__ = ["MCSettings", "append_step_labels", "check_step_labels", "mc_values", "mc_step_labels"]

LABELS_VERSION = "mc1"


@dataclass
class MCSettings:
    """How continuations are drawn: k per prefix, the sampling settings, `search` all | binary."""

    k: int = 8
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 128
    seed: int = 0
    search: Literal["all", "binary"] = "all"
    reprefill: bool = False

    def params(self) -> SamplingParams:
        return SamplingParams(temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens,
                              seed=self.seed)


def check_step_labels(task: Task, problems: list[Problem], truth: bool = False) -> None:
    """Raise a clear error, before any model loads, when step labels cannot be made for these problems:
    no gold answers (the verifier needs them), gold answers that span lines (newline steps would cut the
    answer apart: the task needs its own `step_separator`), or `truth` asked of a task without one."""
    name = getattr(task, "name", type(task).__name__)
    if any(p.answer is None for p in problems):
        raise DataError(f"step labels need gold answers: task `{name}` has problems without one (label-free), "
                        "so no continuation can be scored. Use a task whose problems carry answers.")
    if step_separator(task) == "\n" and any("\n" in (p.answer or "") for p in problems):
        raise ConfigError(f"task `{name}` has answers that span several lines, so newline-separated steps would "
                          "split the answer; give the task a `step_separator` attribute (e.g. a blank line).")
    if truth and step_truth_for(task) is None:
        raise ConfigError(f"task `{name}` has no exact per-step truth; tasks with one: "
                          f"{', '.join(sorted(STEP_TRUTHS))} (with task.demos: steps), or a task that defines "
                          "`step_truth(meta, gold, steps)`.")


def mc_values(generator: Generator, task: Task, problems: list[Problem], steps: list[list[str]],
              pairs: list[tuple[int, int]], settings: MCSettings) -> list[list[bool]]:
    """For each (solution s, step i) pair: the correctness of k continuations of steps[s][:i+1]."""
    sep = step_separator(task)
    prefixes = [prefix_text(steps[s][:i + 1], sep) for s, i in pairs]
    prompts = [continuation_prompt(problems[s].prompt, pre) for (s, _), pre in zip(pairs, prefixes)]
    ids = [problems[s].id for s, _ in pairs]
    if not prompts:
        return []
    k = settings.k
    if settings.reprefill:
        flat = generator.generate([p for p in prompts for _ in range(k)], settings.params(), n=1,
                                  problem_ids=[i for i in ids for _ in range(k)])
        outs = [[flat[r * k + j][0] for j in range(k)] for r in range(len(prompts))]
    else:
        outs = generator.generate(prompts, settings.params(), n=k, problem_ids=ids)
    return [[task.score(problems[s], pre + c.text).correct for c in row]
            for (s, _), pre, row in zip(pairs, prefixes, outs)]


def _sampled(steps: list[list[str]], finished: list[bool], s: int, i: int) -> bool:
    """Whether step i of solution s is labelled by continuations (all but a finished solution's last)."""
    return i < len(steps[s]) - 1 or not finished[s]


def _all_steps(generator, task, problems, steps, own, finished, settings) -> list[list[list[bool]]]:
    """Per solution, per step: the continuations' correctness (a finished solution's last step: its verdict)."""
    pairs = [(s, i) for s, st in enumerate(steps) for i in range(len(st)) if _sampled(steps, finished, s, i)]
    got = dict(zip(pairs, mc_values(generator, task, problems, steps, pairs, settings)))
    return [[got.get((s, i), [own[s]]) for i in range(len(st))] for s, st in enumerate(steps)]


def _binary(generator, task, problems, steps, own, finished, settings) -> list[dict[int, list[bool]]]:
    """Per solution, the probed steps' continuations (incorrect solutions only; see the module docstring)."""
    probed: list[dict[int, list[bool]]] = [{} for _ in steps]
    wrong = [s for s in range(len(steps)) if not own[s]]
    for s in wrong:
        if finished[s]:
            probed[s][len(steps[s]) - 1] = [False]

    def values(asked: list[tuple[int, int]]) -> list[float]:
        sampled = [(wrong[w], i) for w, i in asked if _sampled(steps, finished, wrong[w], i)]
        for (s, i), row in zip(sampled, mc_values(generator, task, problems, steps, sampled, settings)):
            probed[s][i] = row
        return [float(any(probed[wrong[w]][i])) for w, i in asked]

    first_error_search([len(steps[s]) for s in wrong], values)
    return probed


def mc_step_labels(generator: Generator, task: Task, problems: list[Problem], samples: list[Sample],
                   settings: MCSettings, truth: bool = False) -> list[dict[str, Any]]:
    """One `step_labels.jsonl` record per sample with at least one step (see the module docstring).

    `samples` are solutions of `problems` (matched by `problem_id`); every prefix of every sample goes
    to the generator in one call (`search="all"`) or one call per halving (`search="binary"`).
    `truth=True` adds the task's exact per-step truth (an error if it has none)."""
    check_step_labels(task, problems, truth)
    if settings.k < 1:
        raise ConfigError(f"k (continuations per step) must be at least 1, got {settings.k}.")
    if settings.search not in ("all", "binary"):
        raise ConfigError(f"search must be `all` or `binary`, got {settings.search!r}.")
    by_id = {p.id: p for p in problems}
    missing = sorted({s.problem_id for s in samples} - set(by_id))
    if missing:
        raise DataError(f"samples of unknown problems {', '.join(missing[:3])}: pass the problems they answer.")
    sep = step_separator(task)
    kept = [s for s in samples if split_steps(s.text, sep)]
    probs = [by_id[s.problem_id] for s in kept]
    steps = [split_steps(s.text, sep) for s in kept]
    verdicts = [task.score(p, s.text).verdict for p, s in zip(probs, kept)]
    own = [v == "correct" for v in verdicts]
    finished = [v not in ("unparsed", "truncated") and s.finish_reason != "length" for v, s in zip(verdicts, kept)]
    truth_fn = step_truth_for(task) if truth else None
    if settings.search == "binary":
        found = _binary(generator, task, probs, steps, own, finished, settings)
        return [_binary_record(p, s, st, v, got, settings, truth_fn, sep)
                for p, s, st, v, got in zip(probs, kept, steps, verdicts, found)]
    mc = _all_steps(generator, task, probs, steps, own, finished, settings)
    return [_record(p, s, st, v, rows, settings, truth_fn, sep)
            for p, s, st, v, rows in zip(probs, kept, steps, verdicts, mc)]


def append_step_labels(path: str | Path, records: list[dict[str, Any]]) -> None:
    """Append records to a `step_labels.jsonl` file (created with its folder when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _base(problem, sample, steps, verdict, settings, truth_fn, sep) -> dict[str, Any]:
    exact = truth_fn(problem.meta, problem.answer, steps) if truth_fn else None
    return {"prompt": problem.prompt, "problem_id": problem.id, "sample_id": sample.id,
            "verdict": verdict, "finish_reason": sample.finish_reason, "k": settings.k, "search": settings.search,
            "separator": sep, "version": LABELS_VERSION, "n_steps": len(steps),
            "truth": exact.labels if exact else None, "truth_first_error": exact.first_error if exact else None}


def _record(problem, sample, steps, verdict, rows, settings, truth_fn, sep) -> dict[str, Any]:
    hard = [any(r) for r in rows]
    return {**_base(problem, sample, steps, verdict, settings, truth_fn, sep), "completions": steps, "labels": hard,
            "soft_labels": [sum(r) / len(r) for r in rows], "mc_correct": rows,
            "first_error": next((i for i, x in enumerate(hard) if not x), None)}


def _binary_record(problem, sample, steps, verdict, probed, settings, truth_fn, sep) -> dict[str, Any]:
    """Steps up to the first error found (right, then wrong); all steps right for a correct solution."""
    zeros = [i for i, r in probed.items() if not any(r)]
    first = min(zeros) if zeros else None
    upto = len(steps) if first is None else first + 1
    labels = [i != first for i in range(upto)]
    soft = [sum(probed[i]) / len(probed[i]) if i in probed else None for i in range(upto)]
    return {**_base(problem, sample, steps, verdict, settings, truth_fn, sep), "completions": steps[:upto],
            "labels": labels, "soft_labels": soft, "mc_correct": [probed.get(i) for i in range(upto)],
            "first_error": first, "probed": sorted(probed)}
