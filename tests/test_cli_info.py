"""`selftaught tasks NAME` (options with defaults, curriculum levels, did-you-mean) and
`selftaught config [PREFIX]` (every recipe key with type, default and description)."""

import dataclasses

from reasoning_gym import factory
from typer.testing import CliRunner

from selftaught.cli.main import app
from selftaught.core.config import Config

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_tasks_lists_every_dataset():
    result = invoke("tasks")
    assert result.exit_code == 0 and "gcd" in result.output and "basic_arithmetic" in result.output


def test_task_shows_its_options_defaults_and_levels():
    result = invoke("tasks", "gcd")
    assert result.exit_code == 0, result.output
    config_cls = factory.DATASETS["gcd"][1]
    for f in dataclasses.fields(config_cls):
        if f.name in ("seed", "size"):  # set by selftaught, not options
            assert f"│ {f.name} " not in result.output
            continue
        assert f.name in result.output and repr(f.default) in result.output
    curriculum = factory.create_curriculum("gcd")
    for attr in curriculum.attributes.values():
        line = next(line for line in result.output.splitlines() if line.startswith(f"│ {attr.name} "))
        assert [c.strip() for c in line.split("│")[3:-1] if c.strip()] == [repr(v) for v in attr.levels]
    assert "level 0" in result.output


def test_task_without_curriculum_says_so():
    name = next(n for n in sorted(factory.DATASETS) if not factory.has_curriculum(n))
    result = invoke("tasks", name)
    assert result.exit_code == 0 and "no reasoning-gym curriculum" in result.output


def test_task_typo_names_the_nearest_and_exits_2():
    result = invoke("tasks", "gdc")
    assert result.exit_code == 2 and "Did you mean `gcd`" in result.output and "Traceback" not in result.output


def test_config_lists_every_key_with_type_default_and_description():
    result = invoke("config")
    assert result.exit_code == 0
    for name in Config.model_fields:
        assert f"│ {name} " in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("│ loop.rounds "))
    cells = [c.strip() for c in line.split("│")[1:-1]]
    field = Config.model_fields["loop"].annotation.model_fields["rounds"]
    assert cells[2] == str(field.default) and cells[3] and cells[1].startswith("int")


def test_config_prefix_filters_and_a_bad_prefix_exits_2():
    result = invoke("config", "train.lora")
    keys = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│ ")]
    keys = [k for k in keys if k]
    assert result.exit_code == 0 and keys and all(k.startswith("train.lora") for k in keys)
    assert "train.lora.target_modules" in keys and "list[str] | str" in result.output  # not eaten as markup
    bad = invoke("config", "trian.")
    assert bad.exit_code == 2 and "`train`" in bad.output and "Traceback" not in bad.output
