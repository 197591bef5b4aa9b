"""`selftaught eval [RECIPE] --strategy NAME [--strategy NAME2 ...] [--set KEY=VALUE ...]`.

Runs test-time strategies on the recipe's task (its held-out "eval" split, `task.n_eval` problems or
`--n`) with the recipe's model, all on the same problems and sharing samples where legitimate, then
prints a table and writes traces, metrics and `accuracy_vs_tokens.png` under `--out`
(default runs/NAME-eval).

`--set` keys go to the recipe when their first part is a recipe section or key (`task.name=gcd`,
`model=...`, `seed=1`); any other key goes to the strategies: `n=16` sets `n` on every chosen strategy
that has it, `best_of_n.scorer=judge` targets one. Everything is validated before a model is loaded.

Registered in cli/main.py with `app.command("eval")(eval_command)`; user errors print one paragraph
and exit 2, handled here so this module does not import cli.main at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console


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


def eval_command(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    strategy: list[str] = typer.Option(["greedy"], "--strategy", "-s",
                                       help=STRATEGY_HELP),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Recipe key (task.name=gcd) or strategy key "
                                                  "(n=16, best_of_n.scorer=judge); repeatable."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: runs/NAME-eval)."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Number of eval problems (default: task.n_eval)."),
) -> None:
    """Compare test-time strategies (vote, best-of-N, self-refine, ...) on the same held-out problems."""
    from ..core.errors import SelftaughtError

    console, err = Console(), Console(stderr=True)
    try:
        _run(recipe, strategy, overrides or [], out, n, console)
    except SelftaughtError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _run(recipe: str | None, strategies: list[str], overrides: list[str], out: Path | None, n: int | None,
         console: Console) -> None:
    from ..core.config import load_config
    from ..inference.runner import eval_main
    from .main import find_recipe, quiet_libraries

    recipe_sets, strategy_sets = _split(overrides)
    cfg = load_config(find_recipe(recipe), recipe_sets)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    quiet_libraries()
    target = out or Path("runs") / f"{cfg.name}-eval"
    source = cfg.task.name or cfg.task.path or cfg.task.callable
    console.print(f"[bold]selftaught eval[/] {', '.join(strategies)} on {source} -> {target}")
    eval_main(cfg.task, cfg.model, strategies, strategy_sets, target, seed=cfg.seed, n_problems=n, device=cfg.device,
              dtype=cfg.dtype, batch_size=cfg.sampling.batch_size, console=console)
    console.print(f"traces, metrics and accuracy_vs_tokens.png in {target}", highlight=False)
