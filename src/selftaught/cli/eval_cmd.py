"""`selftaught eval [RECIPE] --strategy NAME [--strategy NAME2 ...] [--set KEY=VALUE ...]`.

Runs test-time strategies on the recipe's task (its held-out "eval" split, `task.n_eval` problems or
`--n`) with the recipe's model, all on the same problems and sharing samples where legitimate, then
prints a table and writes traces, metrics and `accuracy_vs_tokens.png` under `--out`
(default runs/NAME-eval).

`--set` keys go to the recipe when their first part is a recipe section or key (`task.name=gcd`,
`model=...`, `seed=1`); any other key goes to the strategies: `n=16` sets `n` on every chosen strategy
that has it, `best_of_n.scorer=judge` targets one. Everything is validated before a model is loaded.

`--run-dir RUN --rounds all|1,3` evaluates each kept round of a finished run with the run's own
config.yaml (cli/eval_rounds.py). Registered in cli/main.py with `app.command("eval")(eval_command)`; user errors print one paragraph
and exit 2 (cli/common.py's handler). The generator comes from the recipe's `backend`, as in `run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, load_recipe, quiet_libraries, set_option, user_errors
from .interrupt import command_line, stop


STRATEGY_HELP = ("Strategy to run (repeatable): a registered name such as greedy, self_consistency or best_of_n "
                 "(an unknown name lists them all), a user's `module:object`, or all.")  # no names copied here


def _split(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(recipe overrides, strategy overrides) by whether the key's first part is a recipe field."""
    from ..core.config import Config

    recipe, strategy = [], []
    for text in overrides:
        head = text.split("=", 1)[0].strip().split(".", 1)[0]
        (recipe if head in Config.model_fields else strategy).append(text)
    return recipe, strategy


@user_errors
def eval_command(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    strategy: list[str] = typer.Option(["greedy"], "--strategy", "-s",
                                       help=STRATEGY_HELP),
    overrides: Optional[list[str]] = set_option("Recipe key (task.name=gcd) or strategy key (n=16, "
                                                "best_of_n.scorer=judge); repeatable."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: runs/NAME-eval)."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Number of eval problems (default: task.n_eval)."),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Evaluate the rounds of this run (its own "
                                           "config.yaml is the recipe) instead of a recipe's model."),
    rounds: Optional[str] = typer.Option(None, "--rounds", help="With --run-dir: `all` (default) or round "
                                         "numbers such as 1,3."),
) -> None:
    """Compare test-time strategies (vote, best-of-N, self-refine, ...) on the same held-out problems."""
    from ..inference.runner import eval_main

    recipe_sets, strategy_sets = _split(overrides or [])
    if run_dir is not None or rounds is not None:
        _eval_run(recipe, run_dir, rounds, strategy, recipe_sets, strategy_sets, out, n)
        return
    cfg = load_recipe(recipe, recipe_sets)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    quiet_libraries()
    target = out or Path("runs") / f"{cfg.name}-eval"
    source = cfg.task.name or cfg.task.path or cfg.task.callable or "a mixture"
    console.print(f"[bold]selftaught eval[/] {', '.join(strategy)} on {source} ({cfg.backend} backend) -> {target}")
    try:
        eval_main(cfg.task, cfg.model, strategy, strategy_sets, target, seed=cfg.seed, n_problems=n, config=cfg,
                  console=console)
    except KeyboardInterrupt:
        raise stop(f"Interrupted: the strategies that finished have their files in {target}; eval does not "
                   f"resume, the whole comparison runs again with: {command_line()}") from None
    console.print(f"traces, metrics and accuracy_vs_tokens.png in {target}", highlight=False)


def _eval_run(recipe, run_dir, rounds, strategy, recipe_sets, strategy_sets, out, n) -> None:
    """`eval --run-dir RUN [--rounds all|1,3]`: each kept round's model (cli/eval_rounds.py)."""
    from ..core.errors import ConfigError
    from .eval_rounds import eval_rounds

    if run_dir is None:
        raise ConfigError("--rounds needs --run-dir RUN (the run whose rounds to evaluate).")
    if recipe is not None:
        raise ConfigError(f"give a recipe ({recipe}) or --run-dir (its config.yaml is the recipe), not both.")
    quiet_libraries()
    console.print(f"[bold]selftaught eval[/] {', '.join(strategy)} on the rounds of {run_dir}", highlight=False)
    try:
        eval_rounds(run_dir, rounds or "all", strategy, recipe_sets, strategy_sets, out, n, console)
    except KeyboardInterrupt:
        raise stop(f"Interrupted: the rounds evaluated so far have their files under their round_NNN folders; "
                   f"rerun to evaluate again: {command_line()}") from None
