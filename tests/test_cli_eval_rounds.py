"""`selftaught eval --run-dir RUN --rounds ...`: every kept round of a run, with the run's own recipe;
rounds whose checkpoint was pruned are listed as skipped with the key that keeps them."""

import json

import pytest
from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 2-round run on a tiny model (keep_checkpoints: last, so round 1's model is gone)."""
    root = tmp_path_factory.mktemp("evalrounds")
    model = make_tiny_llama(root / "tiny")
    recipe = root / "r.yaml"
    recipe.write_text(
        f"name: rounds\nmodel: {model}\ndevice: cpu\n"
        "task: {callable: 'loop_task:make_task', n_train: 4, n_eval: 3}\n"
        "sampling: {n: 2, max_new_tokens: 5, temperature: 1.0}\neval: {max_new_tokens: 5}\n"
        "train: {epochs: 1, batch_size: 4}\nloop: {rounds: 2}\n")
    run = root / "run"
    result = runner.invoke(app, ["run", str(recipe), "--run-dir", str(run)])
    assert result.exit_code == 0, result.output
    return run


def test_eval_every_kept_round_of_a_run(finished_run, tmp_path):
    out = tmp_path / "ev"
    result = runner.invoke(app, ["eval", "--run-dir", str(finished_run), "--out", str(out), "--set", "max_new_tokens=5"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "skipped: round(s) 1: their checkpoints were deleted" in text
    assert "--set loop.keep_checkpoints=all" in text
    for r in (0, 2):
        metrics = json.loads((out / f"round_{r:03d}" / "greedy" / "metrics.json").read_text())
        assert metrics["n"] == 3  # the run's own held-out problems (task.n_eval: 3)
    assert not (out / "round_001").exists()
    assert "held-out accuracy per round" in result.output and "skipped (checkpoint deleted)" in result.output


def test_eval_chosen_rounds_and_bad_choices(finished_run, tmp_path):
    result = runner.invoke(app, ["eval", "--run-dir", str(finished_run), "--rounds", "0", "--out", str(tmp_path / "e"),
                                 "--n", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "e" / "round_000").is_dir() and not (tmp_path / "e" / "round_002").exists()
    bad = runner.invoke(app, ["eval", "--run-dir", str(finished_run), "--rounds", "1,5"])
    assert bad.exit_code == 2 and "5 did not finish" in bad.output and "finished: 0, 1, 2" in bad.output
    both = runner.invoke(app, ["eval", "default", "--run-dir", str(finished_run)])
    assert both.exit_code == 2 and "not both" in both.output
    alone = runner.invoke(app, ["eval", "--rounds", "all"])
    assert alone.exit_code == 2 and "--rounds needs --run-dir" in alone.output
    nothing = runner.invoke(app, ["eval", "--run-dir", str(tmp_path)])
    assert nothing.exit_code == 2 and "not a run directory" in nothing.output
