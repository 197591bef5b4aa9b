"""`selftaught` command line: run, eval, compare, report, tasks.

Errors caused by the user's input print as one paragraph and exit with code 2, before any run
directory is touched.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..core.errors import SelftaughtError
from .eval_cmd import eval_command
from .report_cmd import report

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A language model improves its own reasoning: sample, verify, select, train, repeat.")
console = Console()
err_console = Console(stderr=True)

RECIPES_DIR = Path(__file__).resolve().parents[3] / "recipes"  # a source checkout's recipes/


def user_errors(fn):
    """Turn SelftaughtError into a one-paragraph message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SelftaughtError as e:
            err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def find_recipe(recipe: str | None) -> Path:
    """A recipe path, or a name looked up in ./recipes and the checkout's recipes/ folder."""
    name = recipe or "default"
    candidates = [Path(name), Path("recipes") / f"{name}.yaml", RECIPES_DIR / f"{name}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    known = sorted(p.stem for d in {Path("recipes"), RECIPES_DIR} if d.is_dir() for p in d.glob("*.yaml"))
    raise SelftaughtError(f"Recipe {name!r} not found (looked for {', '.join(map(str, candidates))}). "
                          f"Known recipes: {', '.join(known) or 'none'}.")


def quiet_libraries() -> None:
    import warnings

    import transformers

    # TRL's configs still pass `gradient_checkpointing`; transformers 5 warns on every trainer built.
    warnings.filterwarnings("ignore", message="`gradient_checkpointing` is deprecated", category=FutureWarning)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


SetOption = typer.Option(None, "--set", help="Override a recipe key, e.g. --set loop.rounds=3 (repeatable).")


@app.command()
@user_errors
def run(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    overrides: Optional[list[str]] = SetOption,
    run_dir: Optional[Path] = typer.Option(None, help="Run directory (default: runs/NAME)."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the run directory's rounds and start over."),
    launcher: str = typer.Option("local", help="Where each round's training step runs: `local` (this process) or "
                                 "`accelerate` (`accelerate launch`: several GPUs or nodes)."),
    accelerate_config: Optional[Path] = typer.Option(None, help="With --launcher accelerate: an accelerate config "
                                                     "file, e.g. configs/accelerate/ddp.yaml."),
) -> None:
    """Run the self-improvement loop; rerun the same command to resume."""
    from ..core.config import load_config
    from ..loop.rounds import run_loop

    cfg = load_config(find_recipe(recipe), overrides or [])
    quiet_libraries()
    target = run_dir or Path("runs") / cfg.name
    console.print(f"[bold]selftaught run[/] {cfg.name} -> {target}")
    rows = run_loop(cfg, str(target), fresh=fresh, console=console, after_round=_write_report, launcher=launcher,
                    accelerate_config=str(accelerate_config) if accelerate_config else None)
    first, last = rows[0], rows[-1]
    console.print(f"held-out accuracy: round {first['round']} {100 * first['eval/accuracy']:.1f}% -> "
                  f"round {last['round']} {100 * last['eval/accuracy']:.1f}%  (files in {target})")


def _write_report(run_dir: str) -> None:
    """After each round: the round table in the terminal, and report.html rewritten."""
    from ..report import load_run, summary_table, write_report

    path = write_report(run_dir)
    console.print(summary_table(load_run(run_dir), width=console.width))
    console.print(f"report: {path}", highlight=False)


app.command()(report)
app.command("eval")(eval_command)

from .compare_cmd import compare_command  # noqa: E402  (imports user_errors/find_recipe from here)

app.command("compare")(compare_command)


@app.command()
@user_errors
def tasks() -> None:
    """List the reasoning-gym tasks usable as task.name."""
    from ..tasks import list_gym_tasks

    names = list_gym_tasks()
    console.print(f"{len(names)} reasoning-gym tasks (use as task.name; options via task.options):")
    console.print(", ".join(names), highlight=False)


def main() -> None:  # pragma: no cover - entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
