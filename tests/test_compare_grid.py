"""`selftaught compare` end to end on a tiny model: a 2x2 grid on two local workers writes
compare.json / compare.html; finished cells are skipped; an interrupted cell resumes without
recomputing what had finished; kill -9 of a worker and of the coordinator loses nothing finished."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selftaught.cli.main import app
from selftaught.experiments.compare import analyse_folder, prepare, run_grid
from selftaught.experiments.spec import CompareSpec, variants_from_vary


@pytest.fixture(scope="module")
def recipe(tiny_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "tiny.yaml"
    path.write_text(
        f"name: tinycompare\nmodel: {tiny_path}\ndevice: cpu\n"
        "task: {callable: 'loop_task:make_task', n_train: 4, n_eval: 4}\n"
        "sampling: {n: 2, max_new_tokens: 5, temperature: 1.0}\neval: {max_new_tokens: 5}\n"
        "train: {epochs: 1, batch_size: 4}\nloop: {rounds: 1}\n")
    return path


def grid(recipe, seeds=(0, 1)) -> CompareSpec:
    return CompareSpec(recipe=str(recipe), variants=variants_from_vary(["sampling.temperature=0.7,1.0"]),
                       seeds=list(seeds))


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def finished_stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(out)): stamp(p) for p in out.glob("cells/*/*/rounds/*/*.json*")}


def test_grid_runs_resumes_and_reports(recipe, tmp_path):
    out = tmp_path / "cmp"
    results = run_grid(grid(recipe), out, workers=2)
    assert sorted(r.job.label for r in results) == ["0.7/seed0", "0.7/seed1", "1.0/seed0", "1.0/seed1"]
    assert all(r.ok for r in results), [r.job.log.read_text()[-2000:] for r in results if not r.ok]
    result = analyse_folder(out)
    saved = json.loads((out / "compare.json").read_text())
    assert saved["variants"]["1.0"]["seeds"] == [0, 1] and saved["baseline"] == "0.7"
    assert [c["line"].split(":")[0] for c in saved["comparisons"] if c["metric"] == "final_accuracy"] == ["1.0 - 0.7"]
    assert saved["variants"]["0.7"]["compute"]["sampled_tokens"] > 0
    assert saved["variants"]["0.7"]["curve"]["rounds"] == [0, 1]
    html = (out / "compare.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "1.0 - 0.7" in html and "http" not in html.split("<main>")[1]
    assert result["cells"] == saved["cells"]

    before = finished_stamps(out)
    assert run_grid(grid(recipe), out, workers=2) == []  # every cell finished: nothing runs
    assert finished_stamps(out) == before

    # a cell stopped inside round 1: its samples and training are on disk, its evaluation is not
    cell = out / "cells" / "1.0" / "seed1" / "rounds" / "001"
    for name in ("metrics.json", "eval_samples.jsonl", "eval_scores.jsonl"):
        (cell / name).unlink()
    kept = {k: v for k, v in finished_stamps(out).items()}
    results = run_grid(grid(recipe), out, workers=2)
    assert [r.job.label for r in results] == ["1.0/seed1"] and results[0].ok
    after = finished_stamps(out)
    assert all(after[k] == v for k, v in kept.items() if not k.endswith(("eval_samples.jsonl", "scores.jsonl")))
    assert (cell / "metrics.json").exists()

    report = CliRunner().invoke(app, ["compare", "--report", str(out)])
    assert report.exit_code == 0, report.output
    assert "1.0 - 0.7" in report.output and "variants" in report.output


def _wait_for(predicate, what: str, limit: float = 1200.0):
    """Poll until `predicate()` is truthy; the limit only stops a hung test (a loaded machine took over 300 s)."""
    end = time.time() + limit
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"gave up waiting for {what}")


def _lock_pid(cell: Path) -> int | None:
    text = (cell / ".cell.lock").read_text().strip() if (cell / ".cell.lock").exists() else ""
    return int(text) if text else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cells die with their coordinator on Linux")
def test_kill_worker_then_coordinator_and_resume(recipe, tmp_path):
    out = tmp_path / "cmp"
    spec = grid(recipe, seeds=(0,))
    args = [sys.executable, "-m", "selftaught.cli.main", "compare", str(recipe), "--vary",
            "sampling.temperature=0.7,1.0", "--seeds", "1", "--workers", "1", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    log = open(tmp_path / "coordinator.log", "w")
    coordinator = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    first, second = out / "cells" / "0.7" / "seed0", out / "cells" / "1.0" / "seed0"
    try:
        _wait_for(lambda: (first / "rounds" / "000" / "metrics.json").exists(), "round 0 of the first cell")
        worker = _wait_for(lambda: _lock_pid(first), "the first cell's pid")
        round0 = stamp(first / "rounds" / "000" / "metrics.json")
        os.kill(worker, signal.SIGKILL)  # a worker dies mid-cell: the coordinator goes on with the next cell
        _wait_for(lambda: _lock_pid(second), "the second cell to start")
        os.kill(coordinator.pid, signal.SIGKILL)
        coordinator.wait(timeout=60)
        pid = _lock_pid(second)
        _wait_for(lambda: not _alive(pid), "the second cell's process to die with its coordinator", 300)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
        log.close()
    printed = " ".join((tmp_path / "coordinator.log").read_text().split())
    assert "cell 0.7/seed0 failed" in printed and "cell.log" in printed
    assert not (first / "rounds" / "001" / "metrics.json").exists()

    jobs, done = prepare(spec, out)
    assert {j.label for j in jobs} == {"0.7/seed0", "1.0/seed0"} and done == 0
    results = run_grid(spec, out, workers=1)
    assert all(r.ok for r in results), [r.job.log.read_text()[-2000:] for r in results if not r.ok]
    assert stamp(first / "rounds" / "000" / "metrics.json") == round0  # finished round 0 was not recomputed
    assert prepare(spec, out) == ([], 2)
