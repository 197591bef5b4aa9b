"""`selftaught report RUN_DIR`: write RUN_DIR/report.html and print the per-round table.

Registered in cli/main.py with `app.command()(report)`. User errors (a missing or empty run
directory, an unreadable metrics file) print one paragraph and exit 2, like every other command
(cli/common.py's handler).
"""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console, user_errors


@user_errors
def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `selftaught run` (runs/NAME)."),
) -> None:
    """Write RUN_DIR/report.html (plots, tables, samples; one self-contained file) and print the round table."""
    from ..report import load_run, summary_table, write_report

    path = write_report(run_dir)
    console.print(summary_table(load_run(run_dir), width=console.width))
    console.print(f"report: {path}", highlight=False)
