"""One cell of a comparison, run in its own process: `python -m selftaught.experiments.cell JOB_JSON`.

JOB_JSON holds the recipe, the cell's overrides and its run directory. The cell runs exactly what
`selftaught run RECIPE --set ... --run-dir CELL` runs (`run_loop` on the resolved config), so a cell
resumes like any run, and writes report.html at the end. A lock file (CELL/.cell.lock, `flock`) keeps two
processes from running the same cell at once; it is released by the kernel when the process dies.

Exit codes: 0 finished, 2 a user error (message printed), 75 the cell is locked by another process,
1 anything else (traceback in the cell's log).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

LOCKED = 75
THREADS_ENV = "SELFTAUGHT_CELL_THREADS"


def _lock(run_dir: Path):
    """An exclusive lock on run_dir/.cell.lock held for this process's life, or None if another holds it."""
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / ".cell.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _quiet_libraries() -> None:
    """As `selftaught run` does: no per-trainer deprecation warning, no progress bars in the cell's log."""
    import warnings

    import transformers

    warnings.filterwarnings("ignore", message="`gradient_checkpointing` is deprecated", category=FutureWarning)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def run_cell(job: dict) -> int:
    from rich.console import Console

    from ..core.config import load_config
    from ..core.errors import SelftaughtError

    run_dir = Path(job["run_dir"])
    lock = _lock(run_dir)
    if lock is None:
        print(f"{run_dir} is being run by another process (see {run_dir / '.cell.lock'}).", flush=True)
        return LOCKED
    console = Console(force_terminal=False, width=120)
    try:
        cfg = load_config(job.get("recipe"), job["overrides"])
        threads = os.environ.get(THREADS_ENV)
        if threads and cfg.threads is None:  # the executor's share of the cores, unless the recipe sets one
            import torch

            torch.set_num_threads(int(threads))
        from ..loop.rounds import run_loop
        from ..report import write_report

        _quiet_libraries()
        run_loop(cfg, str(run_dir), console=console)
        write_report(run_dir)
    except SelftaughtError as e:
        console.print(f"error: {e}", highlight=False, soft_wrap=True)
        return 2
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m selftaught.experiments.cell JOB_JSON", file=sys.stderr)
        return 2
    if job_cwd := json.loads(args[0]).get("cwd"):
        if os.path.isdir(job_cwd):
            os.chdir(job_cwd)  # a user task module beside the recipe (task.callable) is found from here
    return run_cell(json.loads(args[0]))


if __name__ == "__main__":
    sys.exit(main())
