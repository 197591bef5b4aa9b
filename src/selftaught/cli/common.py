"""What every `selftaught` command shares: the user-error handler, recipe lookup, the `--set` option.

A user error (`SelftaughtError`: a bad recipe key, a missing file, an unknown strategy) prints as one
paragraph on stderr and exits with code 2, before any run directory is touched; other exceptions are
bugs and keep their traceback. The command modules (main, eval_cmd, report_cmd) import this module and
never each other, so there is no import circle between them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

import typer
from rich.console import Console

from ..core.errors import SelftaughtError

if TYPE_CHECKING:
    from ..core.config import Config

console = Console()
err_console = Console(stderr=True)

RECIPES_DIR = Path(__file__).resolve().parents[3] / "recipes"  # a source checkout's recipes/

F = TypeVar("F", bound=Callable)


def user_errors(fn: F) -> F:
    """Decorate a command: a SelftaughtError becomes a one-paragraph message on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SelftaughtError as e:
            err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def find_recipe(recipe: str | None) -> Path:
    """A recipe path, or a name (`default`) looked up in ./recipes and the checkout's recipes/ folder."""
    name = recipe or "default"
    candidates = _distinct([Path(name), Path("recipes") / f"{name}.yaml", RECIPES_DIR / f"{name}.yaml"])
    for c in candidates:
        if c.is_file():
            return c
    folders = _distinct([Path("recipes"), RECIPES_DIR])
    known = sorted({p.stem for d in folders if d.is_dir() for p in d.glob("*.yaml")})
    raise SelftaughtError(f"Recipe {name!r} not found (looked for {', '.join(map(str, candidates))}). "
                          f"Known recipes: {', '.join(known) or 'none'}.")


def _distinct(paths: list[Path]) -> list[Path]:
    """`paths` without repeats of the same file (./recipes is the checkout's recipes/ when run from it)."""
    seen, kept = set(), []
    for p in paths:
        key = p.expanduser().resolve()
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def load_recipe(recipe: str | None, overrides: list[str]) -> "Config":
    """The validated config of a recipe name or path with `--set` overrides; a note is printed when an
    override replaces the recipe's task source (see core.config.replace_task_source)."""
    from ..core.config import load_config

    return load_config(find_recipe(recipe), overrides,
                       note=lambda text: console.print(f"[yellow]note:[/] {text}", highlight=False, soft_wrap=True))


def quiet_libraries() -> None:
    """Silence transformers' info logs, progress bars and a deprecation warning TRL triggers on every trainer."""
    import warnings

    import transformers

    # TRL's configs still pass `gradient_checkpointing`; transformers 5 warns on every trainer built.
    warnings.filterwarnings("ignore", message="`gradient_checkpointing` is deprecated", category=FutureWarning)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def set_option(text: str = "Override a recipe key, e.g. --set loop.rounds=3 (repeatable). A task source "
               "(task.name, task.path, task.callable) replaces the recipe's.") -> typer.models.OptionInfo:
    """The repeatable `--set KEY=VALUE` option, with its help `text`."""
    return typer.Option(None, "--set", help=text)
