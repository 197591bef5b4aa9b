"""Where a comparison's cells run: local worker processes, or Ray tasks on an existing cluster.

Both start the same thing, one process per cell (`python -m selftaught.experiments.cell`, see
cell.py) with its output in CELL/cell.log, so a failed cell is reported with its log and the others
go on. Locally, W workers take cells from a queue: one per visible GPU (each with its own
CUDA_VISIBLE_DEVICES), or on a CPU as many as there are cells and cores, each with cores // W torch
threads (oversubscribed torch threads run several times slower). On Linux a cell's process is killed
with its coordinator (PR_SET_PDEATHSIG), so a killed coordinator leaves no cell running behind it.
Ray is imported only when asked for (`pip install selftaught[ray]`); scheduling is Ray's.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.errors import ConfigError
from .cell import THREADS_ENV


@dataclass
class CellJob:
    variant: str
    seed: int
    run_dir: str
    recipe: str | None
    overrides: list[str]
    cwd: str

    @property
    def label(self) -> str:
        return f"{self.variant}/seed{self.seed}"

    @property
    def log(self) -> Path:
        return Path(self.run_dir) / "cell.log"


@dataclass
class CellResult:
    job: CellJob
    returncode: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_cell_process(job: CellJob, env_extra: dict[str, str]) -> int:
    """Run one cell in a child process, its output appended to CELL/cell.log; returns its exit code."""
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **env_extra)
    # the child imports what this process imports (the same selftaught source, a test's task module)
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in sys.path if p and os.path.isdir(p)))
    payload = json.dumps({"recipe": job.recipe, "overrides": job.overrides, "run_dir": job.run_dir, "cwd": job.cwd})
    with open(job.log, "a", encoding="utf-8") as log:
        log.write(f"\n=== cell {job.label} started {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n")
        log.flush()
        proc = subprocess.run([sys.executable, "-m", "selftaught.experiments.cell", payload], stdout=log,
                              stderr=subprocess.STDOUT, env=env, cwd=job.cwd if os.path.isdir(job.cwd) else None,
                              preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    return proc.returncode


def visible_gpus() -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else those `nvidia-smi -L` lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [x.strip() for x in env.split(",") if x.strip() and x.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_local(n_cells: int, workers: int | None, use_gpu: bool) -> list[dict[str, str]]:
    """One environment per local worker: its GPU, or its share of the CPU cores as torch threads."""
    gpus = visible_gpus() if use_gpu else []
    if gpus:
        n = workers or len(gpus)
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]} for i in range(n)]
    cores = cpu_count()
    n = workers or max(1, min(n_cells, cores))
    threads = str(max(1, cores // n))
    return [{THREADS_ENV: threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads} for _ in range(n)]


def run_local(jobs: list[CellJob], slots: list[dict[str, str]],
              on_done: Callable[[CellResult], None] = lambda r: None) -> list[CellResult]:
    """Run `jobs` on len(slots) worker threads, each starting one cell process at a time."""
    todo: queue.Queue[CellJob] = queue.Queue()
    for job in jobs:
        todo.put(job)
    results: list[CellResult] = []
    lock = threading.Lock()

    def worker(env_extra: dict[str, str]) -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            start = time.time()
            result = CellResult(job, run_cell_process(job, env_extra), round(time.time() - start, 1))
            with lock:
                results.append(result)
                on_done(result)

    threads = [threading.Thread(target=worker, args=(env,), daemon=True) for env in slots[: max(1, len(jobs))]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def check_address(address: str, timeout: float = 5.0) -> None:
    """ConfigError unless something answers at a Ray address (host:port or ray://host:port)."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected HOST:PORT (as `ray start --head` prints it), "
                          "ray://HOST:PORT, or `auto`.")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ConfigError(f"Ray address {address} does not answer ({type(e).__name__}: {e}; waited {timeout:g} s). "
                          "Start a cluster with `ray start --head` and pass the address it prints, or drop "
                          "--address to start a local Ray instance.") from None


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray, an optional extra: pip install 'selftaught[ray]' "
                          "(or pip install 'ray[default]').") from None
    return ray


def connect_ray(address: str | None):
    """The ray module, connected: to `address` (checked first), or the instance this process already
    started, or a new local one."""
    ray = import_ray()
    if address and address != "auto":
        check_address(address)
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    return ray


def run_ray(jobs: list[CellJob], address: str | None, cpus: float, gpus: float,
            on_done: Callable[[CellResult], None] = lambda r: None) -> list[CellResult]:
    """One Ray task per cell asking for `cpus` CPUs and `gpus` GPUs; each runs the cell's process.

    The run directories must be on storage every node sees (the comparison folder is read back here).
    """
    ray = connect_ray(address)
    threads = str(max(1, int(cpus)))
    env = {THREADS_ENV: threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}

    def task(job: CellJob) -> CellResult:
        start = time.time()
        return CellResult(job, run_cell_process(job, env), round(time.time() - start, 1))

    remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(task)
    pending = {remote.remote(job): job for job in jobs}
    results: list[CellResult] = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            job = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as e:  # the task itself died (node lost, worker killed): report, go on
                _note(job.log, f"ray task failed: {type(e).__name__}: {e}")
                result = CellResult(job, -1, 0.0)
            results.append(result)
            on_done(result)
    return results


def _note(log: Path, text: str) -> None:
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError:
        pass
