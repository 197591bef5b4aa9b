"""Learned verifiers in the loop (loop/verifier.py): trained per round, checkpointed in the round
directory, skipped on a rerun, pruned by keep_checkpoints, and used by selection rules."""

from __future__ import annotations

import json

import pytest
from conftest import loop_config

from selftaught.core.errors import ConfigError
from selftaught.core.config import load_config
from selftaught.loop.rounds import run_loop

FAST = ["verifier.epochs=1", "verifier.batch_size=8", "verifier.learning_rate=1e-3", "loop.rounds=2"]


def test_outcome_verifier_trains_each_round_scores_out_of_sample_and_selects(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "verifier.kinds=[outcome]", "select.rule=threshold", "select.score=verifier",
                      "select.threshold=0.0", *FAST)
    metrics = run_loop(cfg, str(tmp_path / "run"))
    r1, r2 = metrics[1], metrics[2]
    assert r1["verifier/outcome_round"] == 1 and r1["verifier/outcome_in_sample"] is True
    assert r2["verifier/outcome_round"] == 1 and r2["verifier/outcome_in_sample"] is False  # round 1's scores round 2
    assert "exploit/auroc_verifier" in r2 and r2["verifier/outcome_records"] > 0
    rounds = tmp_path / "run" / "rounds"
    assert not (rounds / "001" / "verifier").exists()  # keep_checkpoints last: only the newest verifier stays
    assert json.loads((rounds / "002" / "verifier" / "verifier.json").read_text())["kind"] == "outcome"
    rows = [json.loads(x) for x in (rounds / "002" / "verifier_scores.jsonl").read_text().splitlines()]
    selected = [json.loads(x) for x in (rounds / "002" / "selected.jsonl").read_text().splitlines()]
    assert rows and all(0.0 <= r["verifier"] <= 1.0 for r in rows)
    assert selected and {s["rule"] for s in selected} == {"threshold"}


def test_a_rerun_skips_a_trained_verifier_and_prm_filter_uses_step_labels(tiny_path, tmp_path, monkeypatch):
    run = tmp_path / "run"
    labels = [{"prompt": "q1", "completions": ["ab", "abc"], "labels": [1, 0]},
              {"prompt": "q2", "completions": ["ab", "abcd"], "labels": [1, 1]}] * 4
    (run / "rounds" / "001").mkdir(parents=True)
    (run / "rounds" / "001" / "step_labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    cfg = loop_config(tiny_path, "verifier.kinds=[prm]", "select.rule=prm_filter", "select.threshold=0.0",
                      "loop.keep_checkpoints=all", *FAST[:-1], "loop.rounds=1")
    first = run_loop(cfg, str(run))[1]
    assert first["verifier/prm_records"] == 8 and first["verifier/prm_round"] == 1
    assert (run / "rounds" / "001" / "prm" / "verifier.json").exists()
    selected = (run / "rounds" / "001" / "selected.jsonl").read_text().splitlines()
    assert all(json.loads(x)["rule"] == "prm_filter" for x in selected)
    # kill -9 after the verifier stage: the round's later files are gone, the PRM and its scores stay
    for name in ("metrics.json", "selected.jsonl", "verifier_scores.jsonl", "verifier_metrics.json"):
        (run / "rounds" / "001" / name).unlink(missing_ok=True)

    import selftaught.train.verifier as tv

    monkeypatch.setattr(tv, "train_verifier", lambda *a, **k: pytest.fail("the saved PRM was retrained"))
    again = run_loop(cfg, str(run))[1]
    assert again["verifier/prm_loss"] == first["verifier/prm_loss"]


def test_verifier_scores_without_the_verifier_are_config_errors(tiny_path):
    with pytest.raises(ConfigError, match="add `outcome` to verifier.kinds"):
        loop_config(tiny_path, "select.rule=threshold", "select.score=verifier")
    with pytest.raises(ConfigError, match="add `prm` to verifier.kinds"):
        loop_config(tiny_path, "select.rule=prm_filter")
    with pytest.raises(ConfigError, match="verifier.kinds"):
        load_config(None, ["verifier.kinds=[orm]"])


def test_pool_verifier_is_trained_once_and_selects_without_reading_verdicts(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "verifier.kinds=[outcome]", "verifier.data=pool", "verifier.pool_size=4",
                      "select.rule=threshold", "select.score=verifier", "select.threshold=0.0", *FAST)
    metrics = run_loop(cfg, str(tmp_path / "run"))
    rounds = tmp_path / "run" / "rounds"
    assert (rounds / "001" / "verifier_pool_samples.jsonl").exists()
    assert [m["verifier/outcome_round"] for m in metrics[1:]] == [1, 1]
    assert metrics[2]["verifier/outcome_in_sample"] is False
    assert (rounds / "001" / "verifier" / "verifier.json").exists() and not (rounds / "002" / "verifier").exists()
