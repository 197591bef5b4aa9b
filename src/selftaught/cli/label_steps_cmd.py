"""`selftaught label-steps [RECIPE] --n 30 --k 8 [--search binary] [--set KEY=VALUE ...]`.

Samples `--solutions` solutions for each of `--n` training problems of the recipe's task with the
recipe's model and backend, then labels every step by Monte-Carlo continuations (`scoring.mc_labels`)
and writes, under `--out` (default runs/NAME-steps):

    samples.jsonl       the solutions
    step_labels.jsonl   one record per solution, TRL's stepwise shape plus MC and truth keys
    summary.json        counts, timing (labels per second) and, where the task has an exact per-step
                        truth, the labels' agreement with it (`metrics.step_labels`)

Everything is checked before a model loads (`check_step_labels`). Seeds come from the run seed's
"steps" stage: index 0 samples the solutions, index 1 the continuations. `--k` and `--search` default to
the recipe's `verifier.label_k` / `verifier.label_search`, the keys the loop's step-label stage
(loop/step_labels.py) labels each round's attempts with. Registered in cli/main.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from .common import console, load_recipe, quiet_libraries, set_option, user_errors


@user_errors
def label_steps_command(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    overrides: Optional[list[str]] = set_option(),
    n: int = typer.Option(30, "--n", min=1, help="Training problems to sample solutions for."),
    solutions: int = typer.Option(1, "--solutions", min=1, help="Solutions sampled per problem."),
    k: Optional[int] = typer.Option(None, "--k", min=1, help="Continuations sampled from each step's prefix "
                                    "(default: the recipe's verifier.label_k, 8)."),
    search: Optional[str] = typer.Option(None, "--search", help="`all`: every step's prefix; `binary`: only the "
                                         "prefixes a binary search for the first wrong step of each incorrect "
                                         "solution needs (default: the recipe's verifier.label_search, all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: runs/NAME-steps)."),
    need_truth: bool = typer.Option(False, "--truth", help="Require the task's exact per-step truth (an error for a "
                                    "task without one); without it the truth is used where the task has one."),
) -> None:
    """Label each step of the model's own solutions by Monte-Carlo continuations (process reward model data)."""
    from ..core.errors import ConfigError
    from ..core.io import write_json, write_jsonl
    from ..core.records import SamplingParams
    from ..core.seeds import seed_for
    from ..inference.runner import eval_generator
    from ..metrics.step_labels import step_label_agreement
    from ..scoring.mc_labels import MCSettings, check_step_labels, mc_step_labels
    from ..tasks import build_task
    from ..tasks.step_truth import step_truth_for

    if search not in (None, "all", "binary"):
        raise ConfigError(f"--search must be `all` or `binary`, got {search!r}.")
    cfg = load_recipe(recipe, overrides or [])
    k, search = k or cfg.verifier.label_k, search or cfg.verifier.label_search  # the loop's stage uses the same keys
    task = build_task(cfg.task)
    problems = task.problems("train", n, cfg.seed)
    truth = need_truth or step_truth_for(task) is not None
    check_step_labels(task, problems, truth)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    quiet_libraries()
    target = out or Path("runs") / f"{cfg.name}-steps"
    console.print(f"[bold]selftaught label-steps[/] {len(problems)} problems x {solutions}, k={k}, {search} -> {target}")
    generator = eval_generator(cfg)
    budget = cfg.sampling.max_new_tokens or getattr(task, "max_new_tokens", 128)
    params = SamplingParams(temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p, max_new_tokens=budget,
                            seed=seed_for(cfg.seed, "steps", 0, 0))
    samples = [s for row in generator.generate([p.prompt for p in problems], params, n=solutions,
                                               problem_ids=[p.id for p in problems]) for s in row]
    settings = MCSettings(k=k, temperature=params.temperature, top_p=params.top_p, max_new_tokens=budget,
                          seed=seed_for(cfg.seed, "steps", 0, 1), search=search)  # type: ignore[arg-type]
    start = time.perf_counter()
    records = mc_step_labels(generator, task, problems, samples, settings, truth=truth)
    seconds = time.perf_counter() - start
    labels = sum(len(r["labels"]) for r in records)
    summary = {"task": task.name, "task_version": getattr(task, "version", None), "model": cfg.model, "k": k,
               "search": search, "problems": len(problems), "solutions": len(samples), "labelled_steps": labels,
               "seconds": round(seconds, 1), "labels_per_s": round(labels / max(seconds, 1e-9), 3),
               "agreement": step_label_agreement(records) if truth and search == "all" else None}
    write_jsonl(target / "samples.jsonl", samples)
    write_jsonl(target / "step_labels.jsonl", records)
    write_json(target / "summary.json", summary)
    _print(summary)
    console.print(f"step labels in {target / 'step_labels.jsonl'}", highlight=False)


def _print(summary: dict) -> None:
    """The agreement table (one row per k) when there is a truth, else the counts."""
    from rich.table import Table

    console.print(f"{summary['labelled_steps']} steps labelled in {summary['seconds']} s "
                  f"({summary['labels_per_s']} labels/s)")
    agreement = summary.get("agreement")
    if not agreement:
        return
    table = Table(title=f"MC labels vs exact step truth: {agreement['solutions']} solutions, {agreement['steps']} "
                        f"steps ({agreement['steps_truly_wrong']} truly wrong)")
    cols = ("k", "hard_accuracy", "wrong_caught", "right_kept", "soft_auroc", "first_mc_exact", "first_binary_exact",
            "first_binary_early", "first_binary_late")
    for c in cols:
        table.add_column(c)
    for row in agreement["by_k"]:
        table.add_row(*["-" if row[c] is None else (f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]))
                        for c in cols])
    console.print(table)
