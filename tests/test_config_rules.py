"""Cross-key config rules: checked when the config loads (run and eval alike), every broken rule at once."""

import pytest
from typer.testing import CliRunner

from selftaught.core.config import Config, cross_key_problems, load_config
from selftaught.core.errors import ConfigError

BASE = ["task.name=basic_arithmetic"]

# (overrides, a piece of the message): each breaks exactly one rule
RULES = [
    (["select.rationalize=true", "select.rule=majority"], "select.rationalize needs select.rule: correct"),
    (["train.method=dpo", "select.rule=threshold"], "train.method dpo pairs a right with a wrong sample"),
    (["select.pairs=correction"], "select.pairs correction builds DPO pairs: it needs train.method dpo"),
    (["select.pairs=both", "train.method=dpo", "select.rule=majority"], "revisions are judged by the verifier"),
    (["train.method=grpo", "select.rationalize=true"], "does not apply to train.method grpo"),
    (["train.method=grpo", "loop.kind=bstar"], "loop.kind bstar re-chooses the temperature"),
    (["train.method=grpo", "sampling.n=1"], "sampling.n must be >= 2"),
]


@pytest.mark.parametrize("sets, message", RULES)
def test_each_rule_refuses_its_combination(sets, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(None, BASE + sets)


def test_valid_combinations_pass():
    for sets in (["train.method=dpo", "select.rule=majority"], ["train.method=grpo", "sampling.n=2"],
                 ["train.method=dpo", "select.pairs=both"], ["select.rationalize=true"]):
        assert cross_key_problems(load_config(None, BASE + sets)) == []


def test_two_broken_rules_are_reported_together():
    with pytest.raises(ConfigError) as err:
        load_config(None, BASE + ["train.method=grpo", "sampling.n=1", "loop.kind=bstar"])
    lines = str(err.value).splitlines()
    assert len(lines) == 2, lines
    assert "loop.kind bstar" in lines[0] and "sampling.n must be >= 2" in lines[1]
    assert all(line.startswith("defaults (with --set overrides): ") for line in lines)


def test_the_rules_hold_for_a_config_built_in_python():
    with pytest.raises(ValueError, match="sampling.n must be >= 2"):
        Config.model_validate({"train": {"method": "grpo"}, "sampling": {"n": 1}})


@pytest.mark.parametrize("command", ["run", "eval"])
def test_cli_refuses_before_a_model_loads(command, tmp_path, monkeypatch):
    import selftaught.models as models
    from selftaught.cli.main import app

    def no_load(*a, **kw):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(models, "load_model", no_load)
    monkeypatch.setattr(models, "resolve_model", no_load)
    monkeypatch.chdir(tmp_path)
    sets = ["task.name=basic_arithmetic", f"model={tmp_path / 'no-such-model'}", "train.method=grpo",
            "sampling.n=1", "select.rationalize=true"]
    result = CliRunner().invoke(app, [command, *[a for s in sets for a in ("--set", s)]])
    assert result.exit_code == 2, result.output
    assert "sampling.n must be >= 2" in result.output and "does not apply to train.method grpo" in result.output
    assert not (tmp_path / "runs").exists()
