"""`selftaught run` end to end on a tiny model: table per round, report per round, resume message."""

from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app


def test_run_prints_table_writes_report_and_resumes(tmp_path):
    model = make_tiny_llama(tmp_path / "tiny")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: clitest\nmodel: {model}\ndevice: cpu\n"
        "task: {callable: 'loop_task:make_task', n_train: 4, n_eval: 4}\n"
        "sampling: {n: 2, max_new_tokens: 5, temperature: 1.0}\neval: {max_new_tokens: 5}\n"
        "train: {epochs: 1, batch_size: 4}\nloop: {rounds: 1}\n")
    run_dir = tmp_path / "run"
    args = ["run", str(recipe), "--run-dir", str(run_dir)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (run_dir / "report.html").exists() and "held-out accuracy: round 0" in first.output
    assert first.output.count("report:") == 2  # one report per round
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "report:" not in again.output  # nothing left to do
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
