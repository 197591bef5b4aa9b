"""A task source given with --set replaces the recipe's (core/config.py replace_task_source), in the
config and on the command line; two source keys on the command line are still an error."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from selftaught.cli.main import app
from selftaught.core.config import load_config, replace_task_source
from selftaught.core.errors import ConfigError

DEFAULT = Path(__file__).resolve().parents[1] / "recipes" / "default.yaml"


def test_task_path_over_the_default_recipe_validates(tmp_path):
    notes = []
    cfg = load_config(DEFAULT, [f"task.path={tmp_path / 'my.jsonl'}"], note=notes.append)
    assert cfg.task.path == str(tmp_path / "my.jsonl") and cfg.task.name is None and cfg.task.options == {}
    assert cfg.task.n_train == 256 and cfg.backend == "fast"  # the rest of the recipe stays
    assert notes == ["task.path given on the command line: replacing the recipe's task.name basic_arithmetic "
                     "and its task.options"]


def test_task_callable_and_another_gym_name_replace_the_options():
    notes = []
    cfg = load_config(DEFAULT, ["task.callable=loop_task:make_task"], note=notes.append)
    assert cfg.task.callable == "loop_task:make_task" and cfg.task.name is None and cfg.task.options == {}
    cfg = load_config(DEFAULT, ["task.name=gcd"], note=notes.append)
    assert cfg.task.name == "gcd" and cfg.task.options == {}
    assert notes[-1] == ("task.name given on the command line: replacing the recipe's task.name basic_arithmetic "
                         "and its task.options")


def test_options_given_too_replace_the_recipes_and_plain_overrides_print_nothing():
    notes = []
    cfg = load_config(DEFAULT, ["task.name=gcd", "task.options.min_value=2"], note=notes.append)
    assert cfg.task.options == {"min_value": 2} and len(notes) == 1 and notes[0].endswith("and its task.options")
    cfg = load_config(DEFAULT, ["task.name=basic_arithmetic", "loop.rounds=1"], note=notes.append)
    assert cfg.task.options["max_digits"] == 2 and len(notes) == 1  # the recipe's own source: nothing replaced


def test_replacing_a_path_by_a_name_and_the_old_three_override_form():
    data = {"task": {"path": "a.jsonl", "question_field": "q"}}
    assert replace_task_source(data, ["task.name=gcd"]) == ("task.name given on the command line: replacing the "
                                                            "recipe's task.path a.jsonl")
    assert data == {"task": {"question_field": "q"}}
    cfg = load_config(DEFAULT, ["task.name=null", "task.path=b.jsonl", "task.options={}"])
    assert cfg.task.path == "b.jsonl" and cfg.task.name is None and cfg.task.options == {}


def test_two_source_keys_on_the_command_line_are_an_error():
    with pytest.raises(ConfigError, match="exactly one of task.name, task.path, task.callable"):
        load_config(DEFAULT, ["task.path=a.jsonl", "task.callable=loop_task:make_task"])


def test_run_over_the_default_recipe_with_only_task_path(tmp_path, tiny_path):
    """`selftaught run --set task.path=FILE.jsonl` needs no other task override (the rest: a tiny model, a
    small round)."""
    data = tmp_path / "my.jsonl"
    data.write_text("".join(f'{{"question": "{i} + 1", "answer": "{i + 1}"}}\n' for i in range(60)))
    run_dir = tmp_path / "run"
    sets = [f"task.path={data}", f"model={tiny_path}", "device=cpu", "task.n_train=6", "task.n_eval=4",
            "sampling.n=2", "sampling.max_new_tokens=4", "eval.max_new_tokens=4", "train.epochs=1", "loop.rounds=1"]
    result = CliRunner().invoke(app, ["run", *[x for s in sets for x in ("--set", s)], "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("note: task.path given on the command line: replacing the recipe's task.name basic_arithmetic and "
            "its task.options") in text
    assert "held-out accuracy: round 0" in text and "round 1" in text
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["task"]["path"] == str(data) and resolved["task"]["name"] is None
    assert resolved["task"]["options"] == {} and resolved["backend"] == "fast"  # the rest is the default recipe
    samples = [json.loads(line) for line in (run_dir / "rounds" / "001" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 12


def test_run_with_two_source_keys_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["run", "--set", "task.path=a.jsonl", "--set", "task.callable=m:f",
                                      "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and "exactly one of task.name" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()
