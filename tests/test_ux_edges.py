"""Rough edges a new user met: the recipe-not-found message, a typo in `select.score`, and
select/label_accuracy of label-free SFT rounds."""

import json

import pytest
from typer.testing import CliRunner

from conftest import loop_config
from selftaught.cli.common import find_recipe
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError, SelftaughtError
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir


def test_recipe_not_found_names_each_path_once(tmp_path, monkeypatch):
    import selftaught.cli.common as common

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "mine.yaml").write_text("name: mine\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(common, "RECIPES_DIR", tmp_path / "recipes")  # run from the checkout: the same folder
    with pytest.raises(SelftaughtError) as err:
        find_recipe("nosuch")
    text = str(err.value)
    assert text.count("recipes/nosuch.yaml") == 1, text
    assert "Known recipes: mine." in text
    assert find_recipe("mine").name == "mine.yaml"


def test_select_score_typo_fails_at_load_with_the_nearest_name():
    with pytest.raises(ConfigError, match="Did you mean `self_certainty`") as err:
        load_config(None, ["select.rule=threshold", "select.score=self_certianty"])
    assert "select.score" in str(err.value)
    for good in ("reward", "logprob", "mean_logprob", "mean_entropy", "self_certainty"):
        assert load_config(None, ["task.name=gcd", "select.rule=threshold", f"select.score={good}"]).select.score == good
    # a user's own backend may write its own Sample.stats keys
    assert load_config(None, ["task.name=gcd", "backend=loop_task:make_task", "select.score=my_stat"]).select.score == "my_stat"


def test_cli_refuses_select_score_typo_with_exit_2():
    from selftaught.cli.main import app

    result = CliRunner().invoke(app, ["run", "--set", "select.score=self_certianty"])
    assert result.exit_code == 2 and "self_certainty" in result.output


def test_majority_sft_round_records_label_accuracy(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "select.rule=majority", "select.dedupe=false", "loop.rounds=1", "sampling.n=4")
    rows = run_loop(cfg, str(tmp_path / "r"))
    run = RunDir(tmp_path / "r")
    records = run.read_records(1, "selected.jsonl")
    assert records, "the tiny loop kept nothing; the test needs pseudo-labelled records"
    assert all(isinstance(r["label_correct"], bool) and "label" in r for r in records)
    verdicts = {s["sample_id"]: s["verdict"] for s in run.read_records(1, "scores.jsonl")}
    for r in records:  # a kept sample agrees with the pseudo-label: the label is right iff the sample is
        assert r["label_correct"] == (verdicts[r["sample_id"]] == "correct")
    by_problem = {r["problem_id"]: r["label_correct"] for r in records}
    assert rows[1]["select/label_accuracy"] == pytest.approx(sum(by_problem.values()) / len(by_problem))
    saved = json.loads((tmp_path / "r" / "rounds" / "001" / "metrics.json").read_text())
    assert saved["select/label_accuracy"] == rows[1]["select/label_accuracy"]
