"""A finished run continues with more rounds (or another thread count); other changes are refused,
and a damaged or misplaced run directory gives one clear message, touching nothing."""

import pytest

from conftest import loop_config
from selftaught.core.errors import SelftaughtError
from selftaught.loop.rounds import run_loop

KEYS = ("round", "eval/accuracy", "rollout/pass@1", "select/kept", "train/loss", "settings")


def _figures(rows):
    return [[r.get(k) for k in KEYS] for r in rows]


def test_more_rounds_extend_a_finished_run_like_a_run_from_scratch(tiny_path, tmp_path):
    whole = run_loop(loop_config(tiny_path, "loop.rounds=2"), str(tmp_path / "a"))
    run_loop(loop_config(tiny_path, "loop.rounds=1"), str(tmp_path / "b"))
    extended = run_loop(loop_config(tiny_path, "loop.rounds=2", "threads=1"), str(tmp_path / "b"))
    assert [r["round"] for r in extended] == [0, 1, 2]
    assert _figures(extended) == _figures(whole)
    assert "rounds: 2" in (tmp_path / "b" / "config.yaml").read_text()


def test_fewer_rounds_or_another_key_is_still_refused(tiny_path, tmp_path):
    run_loop(loop_config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    before = (tmp_path / "r" / "config.yaml").read_text()
    with pytest.raises(SelftaughtError, match=r"changed: sampling\.n\)"):
        run_loop(loop_config(tiny_path, "loop.rounds=1", "sampling.n=2"), str(tmp_path / "r"))
    assert (tmp_path / "r" / "config.yaml").read_text() == before
    run_loop(loop_config(tiny_path, "loop.rounds=1"), str(tmp_path / "r"))
    with pytest.raises(SelftaughtError, match=r"changed: loop\.rounds\).*may only grow"):
        run_loop(loop_config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))


def test_run_dir_that_is_a_file_is_refused(tiny_path, tmp_path):
    target = tmp_path / "run"
    target.write_text("not a directory")
    with pytest.raises(SelftaughtError, match="is a file"):
        run_loop(loop_config(tiny_path, "loop.rounds=0"), str(target))
    assert target.read_text() == "not a directory"


@pytest.mark.parametrize("text, words", [("", "empty"), ("a: [1,\n", "not valid YAML"), ("- 1\n", "not a mapping")])
def test_damaged_config_yaml_is_named(tiny_path, tmp_path, text, words):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.yaml").write_text(text)
    with pytest.raises(SelftaughtError, match=words):
        run_loop(loop_config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    assert (tmp_path / "r" / "config.yaml").read_text() == text
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["config.yaml"]


def test_every_server_key_may_change_on_a_resume():
    from selftaught.core.config import ServerConfig
    from selftaught.loop.rundir import CONTINUABLE

    assert {f"server.{k}" for k in ServerConfig.model_fields} - {"server.model", "server.use_n",
                                                                "server.logprobs"} <= set(CONTINUABLE)


def test_round_metrics_record_which_backend_made_the_samples(tiny_path, tmp_path):
    rows = run_loop(loop_config(tiny_path, "loop.rounds=1"), str(tmp_path / "r"))
    assert [r["generation"] for r in rows] == [{"backend": "hf"}, {"backend": "hf"}]
