"""The round loop with train.method dpo on a tiny random Llama: pairs.jsonl, pair counts, the
reference model per round (refreshed or the base), label-free pairs with their label accuracy."""

import json

import pytest

from conftest import loop_config
from selftaught.core.errors import ConfigError
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir


def config(tiny_path, *extra):
    return loop_config(tiny_path, "sampling.n=4", "train.method=dpo", *extra)


def test_dpo_rounds_write_pairs_and_count_problems_without_one(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "select.pairs_per_problem=2"), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert [r["round"] for r in rows] == [0, 1, 2] and all("eval/accuracy" in r for r in rows)
    for index in (1, 2):
        pairs = run.read_records(index, "pairs.jsonl")
        verdict = {s["sample_id"]: s["verdict"] for s in run.read_records(index, "scores.jsonl")}
        assert all(verdict[p["chosen_id"]] == "correct" and verdict[p["rejected_id"]] != "correct" for p in pairs)
        assert all(p["prompt"][-1]["role"] == "user" and p["chosen"][0]["role"] == "assistant" for p in pairs)
        m = json.loads(run.path(index, "metrics.json").read_text())
        assert m["select/pairs"] == len(pairs) == m["train/pairs"]
        by_problem = {}
        for p in pairs:
            by_problem[p["problem_id"]] = by_problem.get(p["problem_id"], 0) + 1
        assert max(by_problem.values()) <= 2
        assert m["select/problems_without_pair"] == 6 - len(by_problem)
        assert m["select/precision"] == 1.0  # every chosen sample is verified correct


@pytest.mark.parametrize("ref", ["round", "base"])
def test_reference_model_per_round(tiny_path, tmp_path, monkeypatch, ref):
    import selftaught.train.dpo as train_pkg  # the trainer module's function, called at run time

    seen = []
    real = train_pkg.train_dpo

    def spy(model, tokenizer, pairs, cfg, device, seed, ref_model=None, **kw):
        start = float(next(model.parameters()).detach().sum())
        seen.append((start, None if ref_model is None else float(next(ref_model.parameters()).detach().sum())))
        return real(model, tokenizer, pairs, cfg, device, seed, ref_model=ref_model, **kw)

    monkeypatch.setattr(train_pkg, "train_dpo", spy)
    run_loop(config(tiny_path, f"train.dpo.ref={ref}"), str(tmp_path / "r"))
    assert len(seen) == 2
    (start1, ref1), (start2, ref2) = seen
    assert ref1 is None  # round 1 starts from the base model: the default reference is the start
    if ref == "round":
        assert ref2 is None  # train_dpo copies the round's starting model
    else:
        assert ref2 == pytest.approx(start1) and start2 != pytest.approx(start1)  # the base model, not the start


def test_label_free_pairs_record_label_accuracy(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "select.rule=majority", "loop.rounds=1"), str(tmp_path / "r"))
    m = rows[1]
    assert m["select/label_accuracy"] is not None and 0.0 <= m["select/label_accuracy"] <= 1.0
    saved = json.loads((tmp_path / "r" / "rounds" / "001" / "metrics.json").read_text())
    assert saved["select/label_accuracy"] == m["select/label_accuracy"]
    run = RunDir(tmp_path / "r")
    scores = {s["sample_id"]: s["extracted"] for s in run.read_records(1, "scores.jsonl")}
    for p in run.read_records(1, "pairs.jsonl"):  # chosen carries the pseudo-label, rejected another answer
        assert scores[p["chosen_id"]] != scores[p["rejected_id"]]


def test_dpo_refuses_a_rule_that_gives_no_pairs(tiny_path, tmp_path):
    with pytest.raises(ConfigError, match="select.rule"):
        run_loop(config(tiny_path, "select.rule=threshold"), str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_dpo_resume_after_crash_reuses_the_pairs(tiny_path, tmp_path, monkeypatch):
    from selftaught.loop import rounds as rounds_mod

    whole = run_loop(config(tiny_path, "loop.rounds=1"), str(tmp_path / "a"))
    real_train = rounds_mod.ModelState.train

    def crash(self, index, records, base):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(rounds_mod.ModelState, "train", crash)
    with pytest.raises(KeyboardInterrupt):
        run_loop(config(tiny_path, "loop.rounds=1"), str(tmp_path / "b"))
    run = RunDir(tmp_path / "b")
    written = run.path(1, "pairs.jsonl").read_text()
    monkeypatch.setattr(rounds_mod.ModelState, "train", real_train)
    resumed = run_loop(config(tiny_path, "loop.rounds=1"), str(tmp_path / "b"))
    assert run.path(1, "pairs.jsonl").read_text() == written
    keys = ("eval/accuracy", "select/pairs", "train/loss")
    assert [[r.get(k) for k in keys] for r in resumed] == [[r.get(k) for k in keys] for r in whole]
