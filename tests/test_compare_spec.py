"""`selftaught compare` refuses bad input before any cell starts: unknown keys in a variant, seeds < 1,
variants that run the same config, a changed spec on an existing folder, an unanswering Ray address."""

import socket

import pytest
from typer.testing import CliRunner

from selftaught.cli.main import app
from selftaught.core.errors import ConfigError
from selftaught.experiments.spec import (CompareSpec, check_spec, parse_seeds, spec_from_yaml, store_or_check,
                                         variants_from_vary)

TASK = ["task.callable=loop_task:make_task", "model=unused-model", "device=cpu", "loop.rounds=1"]


def spec(variants, seeds=(0, 1), baseline=None):
    return CompareSpec(recipe=None, variants=variants, seeds=list(seeds), overrides=list(TASK), baseline=baseline)


def test_vary_builds_named_variants_and_their_product():
    assert variants_from_vary(["loop.kind=rft,bstar"]) == {"rft": ["loop.kind=rft"], "bstar": ["loop.kind=bstar"]}
    grid = variants_from_vary(["loop.kind=rft,bstar", "sampling.temperature=0.7,1.0"])
    assert list(grid) == ["kind=rft,temperature=0.7", "kind=rft,temperature=1.0", "kind=bstar,temperature=0.7",
                          "kind=bstar,temperature=1.0"]
    assert grid["kind=bstar,temperature=0.7"] == ["loop.kind=bstar", "sampling.temperature=0.7"]
    with pytest.raises(ConfigError, match="appears twice"):
        variants_from_vary(["loop.kind=rft,rft"])
    with pytest.raises(ConfigError, match="key=value1,value2"):
        variants_from_vary(["loop.kind"])


def test_unknown_key_in_a_variant_names_the_variant_and_the_key():
    with pytest.raises(ConfigError, match=r"variant 'b'.*unknown key `sampling.temprature`.*temperature"):
        check_spec(spec({"a": ["sampling.temperature=0.5"], "b": ["sampling.temprature=0.9"]}))


def test_seeds_below_one_and_bad_lists_are_refused():
    with pytest.raises(ConfigError, match="at least 1 seed"):
        parse_seeds(0)
    with pytest.raises(ConfigError, match="distinct"):
        parse_seeds([1, 1])
    assert parse_seeds(3) == [0, 1, 2] and parse_seeds([4, 9]) == [4, 9]


def test_variants_with_the_same_config_are_refused():
    with pytest.raises(ConfigError, match="'a' and 'b' resolve to the same config"):
        check_spec(spec({"a": [], "b": []}))
    with pytest.raises(ConfigError, match="same config"):  # an override that restates the default
        check_spec(spec({"a": [], "b": ["sampling.temperature=0.7"]}))
    with pytest.raises(ConfigError, match="baseline 'c' is not a variant"):
        check_spec(spec({"a": [], "b": ["loop.kind=bstar"]}, baseline="c"))


def test_changed_spec_is_refused_with_the_changed_keys(tmp_path):
    first = spec({"rft": ["loop.kind=rft"], "bstar": ["loop.kind=bstar"]})
    store_or_check(tmp_path, first, check_spec(first))
    store_or_check(tmp_path, first, check_spec(first))  # the same spec resumes
    changed = spec({"rft": ["loop.kind=rft"], "bstar": ["loop.kind=bstar", "sampling.temperature=0.9"]},
                   seeds=(0, 1, 2))
    with pytest.raises(ConfigError) as e:
        store_or_check(tmp_path, changed, check_spec(changed))
    msg = str(e.value)
    assert "spec.variants.bstar" in msg and "spec.seeds" in msg and "configs.bstar.sampling.temperature" in msg
    assert "configs.rft" not in msg


def test_spec_file(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("overrides: [task.callable=loop_task:make_task, model=m, device=cpu]\n"
                    "variants:\n  rft: [loop.kind=rft]\n  bstar: {loop.kind: bstar, sampling.temperature: 0.9}\n"
                    "seeds: [3, 5]\nbaseline: bstar\n")
    s = spec_from_yaml(path)
    assert s.recipe is None and s.seeds == [3, 5] and s.baseline == "bstar"
    assert s.variants["bstar"] == ["loop.kind=bstar", "sampling.temperature=0.9"]
    check_spec(s)
    path.write_text("variants: {a: []}\nseed: 3\n")
    with pytest.raises(ConfigError, match="unknown: seed"):
        spec_from_yaml(path)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_errors_exit_2_before_any_cell(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: m\ndevice: cpu\ntask: {callable: 'loop_task:make_task'}\nloop: {rounds: 1}\n")
    out = tmp_path / "out"
    cases = [
        (["--vary", "sampling.temprature=0.5,1.0"], "unknown key `sampling.temprature`"),
        (["--vary", "loop.kind=rft,bstar", "--seeds", "0"], "at least 1 seed"),
        (["--vary", "loop.kind=rft,rft"], "appears twice"),
        (["--vary", "loop.kind=rft,bstar", "--executor", "ray", "--address", f"127.0.0.1:{_closed_port()}"],
         "does not answer"),
        (["--vary", "loop.kind=rft,bstar", "--workers", "0"], "--workers 0"),
    ]
    for args, message in cases:
        if "ray" in args:
            pytest.importorskip("ray", reason="the address check runs after Ray is imported")
        result = CliRunner().invoke(app, ["compare", str(recipe), "--out", str(out), *args])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split()), result.output
        assert not (out / "cells").exists()


def test_missing_ray_names_the_extra(monkeypatch):
    import builtins

    from selftaught.experiments import executors

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"pip install 'selftaught\[ray\]'"):
        executors.import_ray()
