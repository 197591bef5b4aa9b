"""`selftaught` command line: run, eval, compare, report, tasks, config, answer, export, scratch, label-steps,
judge-train.

Errors caused by the user's input print as one paragraph and exit with code 2, before any run
directory is touched (the handler, recipe lookup and `--set` live in cli/common.py, shared by every command).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .common import console, load_recipe, quiet_libraries, set_option, user_errors
from .answer_cmd import answer_command
from .compare_cmd import compare_command
from .config_cmd import config
from .eval_cmd import eval_command
from .export_cmd import export_command
from .judge_cmd import judge_train_command
from .interrupt import run_summary, stop
from .label_steps_cmd import label_steps_command
from .report_cmd import report
from .scratch_cmd import scratch_command
from .tasks_cmd import tasks

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A language model improves its own reasoning: sample, verify, select, train, repeat.")


@app.command()
@user_errors
def run(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    overrides: Optional[list[str]] = set_option(),
    run_dir: Optional[Path] = typer.Option(None, help="Run directory (default: runs/NAME)."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the run directory's rounds and start over."),
    launcher: str = typer.Option("local", help="Where each round's training step runs: `local` (this process) or "
                                 "`accelerate` (`accelerate launch`: several GPUs or nodes)."),
    accelerate_config: Optional[Path] = typer.Option(None, help="With --launcher accelerate: an accelerate config "
                                                     "file, e.g. configs/accelerate/ddp.yaml."),
) -> None:
    """Run the self-improvement loop; rerun the same command to resume."""
    from ..loop.rounds import run_loop

    cfg = load_recipe(recipe, overrides or [])
    quiet_libraries()
    target = run_dir or Path("runs") / cfg.name
    console.print(f"[bold]selftaught run[/] {cfg.name} -> {target}")
    try:
        rows = run_loop(cfg, str(target), fresh=fresh, console=console, after_round=_write_report, launcher=launcher,
                        accelerate_config=str(accelerate_config) if accelerate_config else None)
    except KeyboardInterrupt:
        raise stop(run_summary(target, cfg.loop.rounds)) from None
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
app.command()(tasks)
app.command()(config)
app.command("compare")(compare_command)
app.command("answer")(answer_command)
app.command("export")(export_command)
app.command("scratch")(scratch_command)
app.command("label-steps")(label_steps_command)
app.command("judge-train")(judge_train_command)


def main() -> None:  # pragma: no cover - entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
