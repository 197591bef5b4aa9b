"""What a command says when Ctrl-C stops it: what was finished, what is rerun, and the command to resume.

`run` resumes from its run directory: every round with a metrics.json is finished, and within the
interrupted round every step whose file exists is kept (the step that was running wrote nothing, since
files are written atomically) and the interrupted step starts over. The message names the command
line that was typed, without `--fresh` (which would delete the finished rounds). The exit code is
130, the shell's code for a command stopped by SIGINT.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from .common import err_console

EXIT_INTERRUPTED = 130


def command_line(drop: tuple[str, ...] = ("--fresh",)) -> str:
    """The command as typed (`selftaught` and its arguments, shell-quoted), without the flags in `drop`."""
    return shlex.join(["selftaught", *(a for a in sys.argv[1:] if a not in drop)])


def run_summary(run_dir: str | Path, rounds: int) -> str:
    """One paragraph: the finished rounds of `run_dir`, the kept steps of the next one, how to resume."""
    from ..loop.rundir import RunDir

    run = RunDir(run_dir)
    done = run.finished_rounds() if Path(run_dir).is_dir() else []
    finished = (f"rounds {_span(done)} of 0..{rounds} finished" if done else "no round finished")
    nxt = next((i for i in range(rounds + 1) if i not in done), None)
    kept = ""
    if nxt is not None and run.round_dir(nxt).is_dir():
        files = sorted(p.name for p in run.round_dir(nxt).iterdir() if not p.name.endswith(".tmp"))
        if files:
            kept = f"; round {nxt} keeps its finished steps ({', '.join(files)})"
    return (f"Interrupted: {finished} in {run_dir}{kept}. The interrupted step is rerun from its start. "
            f"Resume with: {command_line()}")


def _span(done: list[int]) -> str:
    return str(done[0]) if len(done) == 1 else (f"{done[0]}..{done[-1]}" if done == list(range(done[0], done[-1] + 1))
                                                else ", ".join(map(str, done)))


def stop(message: str) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise (code 130)."""
    err_console.print(message, style="bold yellow", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_INTERRUPTED)
