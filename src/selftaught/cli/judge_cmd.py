"""`selftaught judge-train [RECIPE]`: self-rationalization of a judge (loop/judge_train.py).

The recipe's model starts as the judge; `judge.*` sizes the rounds and train.* the DPO step. Files go
under RUN_DIR/judge/ (default RUN_DIR: runs/NAME); rerunning the command resumes. A table of the
judge's AUROC, accuracy and parse failures against the verifier is printed after the last round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import console, load_recipe, quiet_libraries, set_option, user_errors


@user_errors
def judge_train_command(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    overrides: Optional[list[str]] = set_option(),
    run_dir: Optional[Path] = typer.Option(None, help="Run directory (default: runs/NAME); files go in RUN_DIR/judge."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete RUN_DIR/judge's rounds and start over."),
) -> None:
    """Train a rationale-then-verdict judge by DPO on its own judgments (self-rationalization); rerun to resume."""
    from ..loop.judge_train import run_judge_training

    cfg = load_recipe(recipe, overrides or [])
    quiet_libraries()
    target = run_dir or Path("runs") / cfg.name
    console.print(f"[bold]selftaught judge-train[/] {cfg.name} -> {target / 'judge'}")
    rows = run_judge_training(cfg, target, fresh=fresh, console=console)
    console.print(judge_table(rows))


def judge_table(rows: list[dict]) -> Table:
    """One line a round: the judge against the verifier on the held-out answers."""
    table = Table(title="judge on held-out answers (against the verifier)")
    for name in ("round", "AUROC", "accuracy", "parse failures", "pairs"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(str(r["round"]), _fmt(r.get("judge/auroc")), _fmt(r.get("judge/accuracy")),
                      _fmt(r.get("judge/parse_failure_rate")), str(r.get("judge/pairs", "-")))
    return table


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"
