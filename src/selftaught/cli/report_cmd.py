"""`selftaught report RUN_DIR`: write RUN_DIR/report.html and print the per-round table.

Registered in cli/main.py with `app.command()(report)`. User errors (a missing or empty run
directory, an unreadable metrics file) print one paragraph and exit 2, like every other command;
the handling is local so this module does not import cli.main (no import cycle when main imports it).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ..core.errors import SelftaughtError


def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `selftaught run` (runs/NAME)."),
) -> None:
    """Write RUN_DIR/report.html (plots, tables, samples; one self-contained file) and print the round table."""
    from ..report import load_run, summary_table, write_report

    console = Console()
    try:
        path = write_report(run_dir)
        console.print(summary_table(load_run(run_dir), width=console.width))
    except SelftaughtError as e:
        Console(stderr=True).print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"report: {path}", highlight=False)
