"""Any causal LM through the whole loop: base models (no chat template) and families other than Llama
run the default recipe to the end; a run directory in which nothing finished accepts a changed config."""

import pytest

from selftaught.core.config import load_config
from selftaught.core.errors import SelftaughtError
from selftaught.loop.rounds import run_loop
from selftaught.loop.context import RoundContext
from selftaught.loop.rundir import RunDir
from selftaught.tasks.formats import render_plain
from tiny_families import save_tiny_family

RECIPE = "recipes/default.yaml"
TINY = ["device=cpu", "task.n_train=6", "task.n_eval=4", "sampling.n=2", "sampling.max_new_tokens=6",
        "eval.max_new_tokens=6", "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=4",
        "train.learning_rate=1e-3", "loop.rounds=1"]


def default_recipe(model_dir, *sets):
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[1] / RECIPE
    return load_config(recipe, [f"model={model_dir}", *TINY, *sets])


@pytest.mark.parametrize("kind,chat", [("llama", False), ("qwen2", False), ("qwen3", True), ("gemma3_text", False),
                                       ("gpt2", False)])  # gpt2: backend fast falls back to hf
def test_default_recipe_runs_to_the_end(kind, chat, tmp_path):
    model_dir = save_tiny_family(tmp_path / kind, kind, chat_template=chat)
    rows = run_loop(default_recipe(model_dir), str(tmp_path / "run"))
    assert [r["round"] for r in rows] == [0, 1]
    run = RunDir(tmp_path / "run")
    assert run.checkpoint(1).exists()
    for record in run.read_records(1, "selected.jsonl"):
        if chat:
            assert record["messages"][-1]["role"] == "assistant"
        else:  # trained on the very text it was sampled from (the few-shot stripped: select.strip_few_shot)
            assert record["prompt"].startswith("Solve the problem") and record["prompt"].count("Question: ") == 1
            assert isinstance(record["completion"], str)


@pytest.mark.parametrize("method", ["dpo", "grpo"])
def test_base_model_trains_with_dpo_and_grpo_on_plain_text(method, tmp_path, monkeypatch):
    from conftest import loop_config
    from selftaught.train import grpo as grpo_mod

    seen = []
    real = grpo_mod._trainer_class()

    class Recording(real):  # GRPO samples its own completions: from the plain text, as the loop does
        def __init__(self, *args, **kwargs):
            seen.extend(row["prompt"] for row in kwargs["train_dataset"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(grpo_mod, "_trainer_class", lambda: Recording)

    model_dir = save_tiny_family(tmp_path / "m", "qwen2", chat_template=False)
    cfg = loop_config(model_dir, f"train.method={method}", "loop.rounds=1", "backend=fast", "train.batch_size=3",
                      "task.callable=loop_task:make_worked_example_task")
    rows = run_loop(cfg, str(tmp_path / "run"))
    assert [r["round"] for r in rows] == [0, 1]
    if method == "dpo":
        for pair in RunDir(tmp_path / "run").read_records(1, "pairs.jsonl"):
            assert pair["prompt"].startswith("Be even.\n\nQuestion: q-1\nab\n\nQuestion: ")
            assert isinstance(pair["chosen"], str) and isinstance(pair["rejected"], str)
    else:
        assert seen and all(p.startswith("Be even.\n\nQuestion: q-1\nab\n\nQuestion: ") for p in seen)


def test_run_dir_where_nothing_finished_accepts_a_changed_config(tiny_path, tmp_path, monkeypatch):
    from conftest import loop_config

    def refuse(*args, **kwargs):
        raise SelftaughtError("this backend refuses the model")

    monkeypatch.setattr(RoundContext, "generate_step", refuse)
    with pytest.raises(SelftaughtError, match="refuses"):
        run_loop(loop_config(tiny_path, "loop.rounds=0"), str(tmp_path / "r"))
    monkeypatch.undo()
    rows = run_loop(loop_config(tiny_path, "loop.rounds=0", "backend=fast"), str(tmp_path / "r"))
    assert [r["round"] for r in rows] == [0]
    assert "backend: fast" in (tmp_path / "r" / "config.yaml").read_text()


def test_run_dir_with_a_finished_step_still_refuses_a_changed_config(tiny_path, tmp_path):
    from conftest import loop_config

    run = RunDir(tmp_path / "r")
    assert run.prepare(loop_config(tiny_path), fresh=False) is False
    run.write_records(0, "eval_samples.jsonl", [{"problem_id": "x"}])
    with pytest.raises(SelftaughtError, match="sampling.n"):
        run.prepare(loop_config(tiny_path, "sampling.n=2"), fresh=False)


def test_plain_prompt_of_the_worked_example_task():
    messages = [{"role": "system", "content": "Be even."}, {"role": "user", "content": "q-1"},
                {"role": "assistant", "content": "ab"}, {"role": "user", "content": "q5"}]
    assert render_plain(messages) == "Be even.\n\nQuestion: q-1\nab\n\nQuestion: q5\n"
