"""The round loop on a tiny random Llama: files per step, resume after a crash, variants."""

import json

import pytest

from conftest import loop_config
from selftaught.core.errors import SelftaughtError
from selftaught.loop import rounds as rounds_mod
from selftaught.loop.control import best_point
from selftaught.loop.rationalize import with_hint
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir


def config(tiny_path, *extra):
    return loop_config(tiny_path, *extra)


def test_rounds_write_every_file(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert len(run.metrics_path.read_text().splitlines()) == 3
    for name in ("samples.jsonl", "scores.jsonl", "selected.jsonl", "eval_samples.jsonl", "metrics.json"):
        assert run.has(2, name), name
    assert len(run.read_records(1, "samples.jsonl")) == 6 * 3
    assert run.checkpoint(2).exists() and not run.checkpoint(1).exists()  # keep_checkpoints: last
    m = rows[2]
    assert 0 <= m["rollout/pass@1"] <= m["rollout/pass@3"] <= 1
    assert m["eval/accuracy_low"] <= m["eval/accuracy"] <= m["eval/accuracy_high"]
    kept = run.read_records(2, "selected.jsonl")
    assert m["select/kept"] == len(kept) and all(r["messages"][-1]["role"] == "assistant" for r in kept)
    scores = {s["sample_id"]: s["verdict"] for s in run.read_records(2, "scores.jsonl")}
    assert all(scores[r["sample_id"]] == "correct" for r in kept)


def test_resume_after_crash_matches_uninterrupted_run(tiny_path, tmp_path, monkeypatch):
    whole = run_loop(config(tiny_path), str(tmp_path / "a"))
    real_train = rounds_mod.ModelState.train

    def crash_in_round_2(self, index, records, base):
        if index == 2:
            raise KeyboardInterrupt("killed")
        return real_train(self, index, records, base)

    monkeypatch.setattr(rounds_mod.ModelState, "train", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        run_loop(config(tiny_path), str(tmp_path / "b"))
    run = RunDir(tmp_path / "b")
    assert run.finished_rounds() == [0, 1] and run.has(2, "selected.jsonl") and not run.has(2, "metrics.json")
    monkeypatch.setattr(rounds_mod.ModelState, "train", real_train)
    resumed = run_loop(config(tiny_path), str(tmp_path / "b"))
    keys = ("eval/accuracy", "rollout/pass@1", "select/kept", "train/loss")
    assert [[r.get(k) for k in keys] for r in resumed] == [[r.get(k) for k in keys] for r in whole]


def test_changed_config_on_resume_is_refused_and_touches_nothing(tiny_path, tmp_path):
    run_loop(config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    before = (tmp_path / "r" / "config.yaml").read_text()
    with pytest.raises(SelftaughtError, match="sampling.n"):
        run_loop(config(tiny_path, "loop.rounds=0", "sampling.n=2"), str(tmp_path / "r"))
    assert (tmp_path / "r" / "config.yaml").read_text() == before
    run_loop(config(tiny_path, "loop.rounds=0", "sampling.n=2"), str(tmp_path / "r"), fresh=True)
    assert "n: 2" in (tmp_path / "r" / "config.yaml").read_text()


def test_resume_accepts_a_config_written_before_a_key_was_added(tiny_path, tmp_path):
    import yaml

    run_loop(config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    path = tmp_path / "r" / "config.yaml"
    old = yaml.safe_load(path.read_text())
    del old["train"]["gradient_checkpointing"]  # as a run from before that key existed wrote it
    path.write_text(yaml.safe_dump(old))
    rows = run_loop(config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    assert [r["round"] for r in rows] == [0]


def test_rest_em_trains_from_the_base_model(tiny_path, tmp_path, monkeypatch):
    import selftaught.train.sft as train_pkg  # the trainer module's function, called at run time

    seen = []
    real = train_pkg.train_sft

    def spy(model, *args, **kwargs):
        seen.append(float(next(model.parameters()).detach().sum()))
        return real(model, *args, **kwargs)

    monkeypatch.setattr(train_pkg, "train_sft", spy)
    run_loop(config(tiny_path, "loop.kind=rest_em", "select.rule=threshold", "select.score=reward",
                    "select.threshold=-1"), str(tmp_path / "r"))
    assert len(seen) == 2 and seen[0] == pytest.approx(seen[1])  # both rounds start from the base weights


def test_bstar_records_grid_and_picks_best_balance(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "loop.kind=bstar", "loop.rounds=1", "control.temperatures=[0.5,1.5]",
                           "control.probe_size=3"), str(tmp_path / "r"))
    saved = json.loads((tmp_path / "r" / "rounds" / "001" / "control.json").read_text())
    assert len(saved["grid"]) == 2
    assert saved["temperature"] == best_point(saved["grid"])["temperature"]
    assert rows[1]["settings"]["temperature"] == saved["temperature"]
    samples = RunDir(tmp_path / "r").read_records(1, "samples.jsonl")
    assert {s["params"]["temperature"] for s in samples} == {saved["temperature"]}


def test_best_point_prefers_highest_then_earliest():
    grid = [{"temperature": t, "balance": b} for t, b in [(0.4, 0.1), (0.7, None), (1.0, 0.5), (1.3, 0.5)]]
    assert best_point(grid)["temperature"] == 1.0


def test_rationalization_trains_without_the_hint(tiny_path, tmp_path):
    # one attempt per problem, so some problem goes unsolved and gets a hinted retry
    run_loop(config(tiny_path, "loop.rounds=1", "select.rationalize=true", "sampling.n=1"), str(tmp_path / "r"))
    run = RunDir(tmp_path / "r")
    solved = {s["sample_id"].split("#")[0] for s in run.read_records(1, "scores.jsonl") if s["verdict"] == "correct"}
    assert len(solved) < 6 and run.has(1, "rationale_samples.jsonl")
    for rec in run.read_records(1, "selected.jsonl"):
        assert "Hint" not in json.dumps(rec["messages"][:-1])
    assert "Hint: the correct answer is 7" in with_hint([{"role": "user", "content": "3+4?"}], "7")[0]["content"]


@pytest.mark.parametrize("strip", [False, True])
def test_strip_few_shot_trains_on_the_question_alone(tiny_path, tmp_path, strip):
    cfg = config(tiny_path, "loop.rounds=1", "task.callable=loop_task:make_worked_example_task",
                 f"select.strip_few_shot={str(strip).lower()}")
    run_loop(cfg, str(tmp_path / "r"))
    records = RunDir(tmp_path / "r").read_records(1, "selected.jsonl")
    assert records  # the tiny model solves some: the check below looks at real records
    for rec in records:
        roles = [m["role"] for m in rec["messages"]]
        if strip:
            assert roles == ["system", "user", "assistant"] and rec["messages"][1]["content"].startswith("q")
            assert rec["messages"][1]["content"] != "q-1"
        else:
            assert roles == ["system", "user", "assistant", "user", "assistant"]
