from pathlib import Path

import pytest

from selftaught.core.config import Config, load_config
from selftaught.core.errors import ConfigError

RECIPES = sorted((Path(__file__).parents[1] / "recipes").glob("*.yaml"))


def write(tmp_path, text):
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_every_recipe_loads():
    assert RECIPES, "no recipes found"
    for path in RECIPES:
        assert isinstance(load_config(path), Config)


def test_unknown_key_names_it_and_suggests(tmp_path):
    p = write(tmp_path, "task: {name: basic_arithmetic}\nsampling: {temprature: 0.5}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "sampling.temprature" in msg and "sampling.temperature" in msg and str(p) in msg


def test_every_problem_reported_at_once(tmp_path):
    p = write(tmp_path, "task: {name: x}\nloop: {kind: nope, rounds: -1}\nbogus: 1\n")
    msg = str(pytest.raises(ConfigError, load_config, p).value)
    assert "loop.kind" in msg and "loop.rounds" in msg and "bogus" in msg


def test_overrides_apply_and_parse_types(tmp_path):
    p = write(tmp_path, "task: {name: basic_arithmetic}\n")
    cfg = load_config(p, ["loop.rounds=5", "sampling.temperature=0.3", "task.options.max_digits=3"])
    assert cfg.loop.rounds == 5 and cfg.sampling.temperature == 0.3
    assert cfg.task.options == {"max_digits": 3}


def test_override_unknown_key_is_error(tmp_path):
    p = write(tmp_path, "task: {name: basic_arithmetic}\n")
    with pytest.raises(ConfigError, match="loop.round"):
        load_config(p, ["loop.round=5"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(p, ["loop.rounds"])


def test_exactly_one_task_source(tmp_path):
    with pytest.raises(ConfigError, match="exactly one"):
        load_config(write(tmp_path, "task: {name: a, path: b.jsonl}\n"))
    with pytest.raises(ConfigError, match="exactly one"):
        load_config(write(tmp_path, "name: x\n"))


def test_missing_recipe_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "task: [unclosed\n"))
