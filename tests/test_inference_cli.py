"""`selftaught eval` (cli/eval_cmd.py) on a tiny model: the table, the files, exit code 2 on bad input."""

import json

import typer
from typer.testing import CliRunner

from selftaught.cli.eval_cmd import _split, eval_command
from selftaught.inference import STRATEGIES


def _app():
    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the `eval` subcommand name
    return app


def test_an_unknown_strategy_lists_every_registered_one():
    result = CliRunner().invoke(_app(), ["eval", "--strategy", "best_of_m", "--set", "device=cpu"])
    assert result.exit_code == 2
    assert "did you mean `best_of_n`?" in result.output
    assert all(name in result.output for name in STRATEGIES.names())


def test_overrides_split_between_recipe_and_strategies():
    assert _split(["task.name=gcd", "n=4", "seed=1", "best_of_n.scorer=judge"]) == (
        ["task.name=gcd", "seed=1"], ["n=4", "best_of_n.scorer=judge"])


def test_eval_command_end_to_end(tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    args = ["eval", "--strategy", "greedy", "--strategy", "self_consistency", "--set", f"model={tiny_model_dir}",
            "--set", "task.few_shot=0", "--set", "device=cpu", "--set", "n=2", "--set", "max_new_tokens=4",
            "--n", "2", "--out", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "self_consistency" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [m["label"] for m in summary] == ["greedy", "self_consistency"]
    assert (out / "greedy" / "traces.jsonl").exists() and (out / "accuracy_vs_tokens.png").exists()


def test_eval_command_bad_input_exits_2(tmp_path):
    result = CliRunner().invoke(_app(), ["eval", "--strategy", "best_of_m", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "best_of_n" in result.output
    result = CliRunner().invoke(_app(), ["eval", "--strategy", "greedy", "--set", "n=3", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no chosen strategy" in result.output
    assert not (tmp_path / "x").exists()
