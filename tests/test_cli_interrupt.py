"""Ctrl-C during `selftaught run` / `eval`: one paragraph (finished rounds, the rerun step, the command to
resume), exit code 130; the resumed run then finishes."""

import sys

from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app


def recipe(tmp_path):
    model = make_tiny_llama(tmp_path / "tiny")
    path = tmp_path / "r.yaml"
    path.write_text(
        f"name: ctrlc\nmodel: {model}\ndevice: cpu\n"
        "task: {callable: 'loop_task:make_task', n_train: 4, n_eval: 4}\n"
        "sampling: {n: 2, max_new_tokens: 5, temperature: 1.0}\neval: {max_new_tokens: 5}\n"
        "train: {epochs: 1, batch_size: 4}\nloop: {rounds: 1}\n")
    return path


def test_ctrl_c_in_a_round_says_what_finished_and_how_to_resume(tmp_path, monkeypatch):
    import selftaught.loop.rounds as rounds

    run_dir = tmp_path / "run dir"  # a space: the printed command must quote it
    args = ["run", str(recipe(tmp_path)), "--run-dir", str(run_dir), "--fresh"]
    monkeypatch.setattr(sys, "argv", ["/usr/bin/selftaught", *args])

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rounds, "training_data", interrupt)  # round 1, after sampling and scoring
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.output
    text = " ".join(result.output.split())
    assert "Interrupted: rounds 0 of 0..1 finished" in text
    assert "round 1 keeps its finished steps (curriculum.json, samples.jsonl, scores.jsonl)" in text
    assert "The interrupted step is rerun from its start." in text
    assert f"Resume with: selftaught run {args[1]} --run-dir '{run_dir}'" in text
    assert "--fresh" not in text.split("Resume with:")[1]  # resuming must not delete the finished round
    assert "Traceback" not in result.output

    monkeypatch.undo()
    again = CliRunner().invoke(app, args[:-1])  # the printed command (no --fresh) finishes the run
    assert again.exit_code == 0, again.output
    assert (run_dir / "rounds" / "001" / "metrics.json").exists()



def test_ctrl_c_before_any_round_and_during_eval(tmp_path, monkeypatch):
    import selftaught.inference.runner as runner
    import selftaught.loop.rounds as rounds

    path = recipe(tmp_path)
    args = ["run", str(path), "--run-dir", str(tmp_path / "run")]
    monkeypatch.setattr(sys, "argv", ["selftaught", *args])

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rounds, "evaluate", interrupt)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130 and "Interrupted: no round finished" in " ".join(result.output.split())

    eval_args = ["eval", str(path), "--out", str(tmp_path / "ev")]
    monkeypatch.setattr(sys, "argv", ["selftaught", *eval_args])
    monkeypatch.setattr(runner, "evaluate_strategy", interrupt)
    result = CliRunner().invoke(app, eval_args)
    text = " ".join(result.output.split())
    assert result.exit_code == 130 and f"with: selftaught eval {path} --out {tmp_path / 'ev'}" in text, text
