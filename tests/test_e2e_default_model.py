"""One short round of the default recipe on the real default model (SmolLM2-135M-Instruct).

Slow (a minute or two on a laptop CPU, plus about a minute to fetch and convert the model on a
machine that has never run selftaught): deselect with `-m "not slow"`.
"""

from pathlib import Path

import pytest

from selftaught.core.config import load_config
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from selftaught.models import load_model

pytestmark = pytest.mark.slow


def test_one_round_on_the_default_model(tmp_path):
    cfg = load_config(Path(__file__).parents[1] / "recipes" / "default.yaml", [
        "task.n_train=16", "task.n_eval=12", "loop.rounds=1", "device=cpu"])
    rows = run_loop(cfg, str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    assert [r["round"] for r in rows] == [0, 1]
    first = rows[1]
    # The few-shot prompt makes the model write answers it can be scored on, and it solves some.
    assert first["rollout/unparsed_rate"] < 0.5
    assert first["rollout/pass@4"] > 0 and first["select/kept"] > 0
    assert first["train/steps"] > 0 and first["train/loss"] is not None
    verdicts = [s["verdict"] for s in run.read_records(1, "eval_scores.jsonl")]
    assert len(verdicts) == 12 and set(verdicts) <= {"correct", "incorrect", "unparsed"}
    model, tok = load_model(str(run.checkpoint(1)), device="cpu")  # the checkpoint is a plain HF folder
    assert model.config.model_type == "llama" and tok.chat_template
