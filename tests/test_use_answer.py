"""`selftaught answer` on a tiny run: the run's prompt and model give the run's own eval completions."""

import json

import pytest
from typer.testing import CliRunner

from conftest import loop_config
from selftaught.cli.main import app
from selftaught.core.io import read_jsonl
from selftaught.loop.rounds import run_loop
from selftaught.tasks.prompts import build_messages
from selftaught.use.answer import prompt_for, read_questions
from selftaught.use.source import open_source

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tiny_path, tmp_path_factory):
    """A finished 2-round run on the tiny model (keep_checkpoints: last, so round 1's model is gone)."""
    root = tmp_path_factory.mktemp("answer") / "run"
    run_loop(loop_config(tiny_path), str(root))
    return root


def eval_rows(run_dir, index):
    return read_jsonl(run_dir / "rounds" / f"{index:03d}" / "eval_samples.jsonl")


def questions_file(tmp_path, n=4):
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{1000 + i}", "id": f"x{i}"}) + "\n" for i in range(n)))
    return path


@pytest.mark.parametrize("index", ["latest", "0"])
def test_answers_equal_the_runs_own_greedy_eval(run_dir, tmp_path, index):
    out = tmp_path / "answers.jsonl"
    result = runner.invoke(app, ["answer", str(run_dir), "--file", str(questions_file(tmp_path)), "--round", index,
                                 "--set", "max_new_tokens=6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    want = [r["text"] for r in eval_rows(run_dir, 2 if index == "latest" else 0)]
    assert [r["completion"] for r in rows] == want
    assert [r["id"] for r in rows] == ["x0", "x1", "x2", "x3"]
    assert {r["round"] for r in rows} == {2 if index == "latest" else 0}


def test_one_question_prints_its_answer_and_show_prints_the_completion(run_dir):
    done = runner.invoke(app, ["answer", str(run_dir), "q1000", "--set", "max_new_tokens=6", "--show"])
    assert done.exit_code == 0, done.output
    assert eval_rows(run_dir, 2)[0]["text"].strip() in done.output and "A:" in done.output


def test_self_consistency_votes_over_n_samples(run_dir, tmp_path):
    out = tmp_path / "sc.jsonl"
    done = runner.invoke(app, ["answer", str(run_dir), "--file", str(questions_file(tmp_path, 2)), "-s",
                               "self_consistency", "--set", "n=3", "--set", "max_new_tokens=6", "--out", str(out)])
    assert done.exit_code == 0, done.output
    rows = read_jsonl(out)
    assert [r["strategy"] for r in rows] == ["self_consistency"] * 2
    assert all(round(3 * r["confidence"], 6) in (0, 1, 2, 3) for r in rows)  # a vote share of 3 samples


def test_pruned_round_missing_config_and_empty_file_exit_2(run_dir, tmp_path):
    pruned = runner.invoke(app, ["answer", str(run_dir), "q1", "--round", "1"])
    assert pruned.exit_code == 2 and "keep_checkpoints" in pruned.output and "Traceback" not in pruned.output
    unfinished = runner.invoke(app, ["answer", str(run_dir), "q1", "--round", "7"])
    assert unfinished.exit_code == 2 and "finished rounds: 0, 1, 2" in unfinished.output
    broken = tmp_path / "broken"
    (broken / "rounds" / "000").mkdir(parents=True)
    assert runner.invoke(app, ["answer", str(broken), "q1"]).exit_code == 2
    assert "config.yaml" in runner.invoke(app, ["answer", str(broken), "q1"]).output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    done = runner.invoke(app, ["answer", str(run_dir), "--file", str(empty)])
    assert done.exit_code == 2 and "no questions" in done.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a"}\n{"q": "b"}\n')
    done = runner.invoke(app, ["answer", str(run_dir), "--file", str(bad)])
    assert done.exit_code == 2 and "line 2" in done.output
    typo = runner.invoke(app, ["answer", str(run_dir), "q1", "-s", "self_consistensy"])
    assert typo.exit_code == 2 and "self_consistency" in typo.output


def test_a_bare_model_is_asked_the_question_with_the_default_instruction(tiny_path):
    source = open_source(tiny_path, overrides=["device=cpu"])
    assert source.task is None and source.run_dir is None
    assert prompt_for(None, "What is 2 + 3?") == build_messages("What is 2 + 3?")
    done = runner.invoke(app, ["answer", tiny_path, "What is 2 + 3?", "--set", "max_new_tokens=4",
                               "--set", "device=cpu"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(app, ["answer", tiny_path, "q", "--round", "1"]).exit_code == 2


def test_a_task_with_worked_examples_prompts_with_them():
    class Shots:
        system_prompt = "Be brief."

        def examples(self):
            return [("1+1?", "Answer: 2")]

    assert prompt_for(Shots(), "2+2?") == build_messages("2+2?", [("1+1?", "Answer: 2")], "Be brief.")


def test_a_gold_answer_adds_the_tasks_verdict(run_dir, tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"question": "q1000", "answer": "[even]"}\n{"question": "q1001", "answer": "even"}\n')
    done = runner.invoke(app, ["answer", str(run_dir), "--file", str(path), "--set", "max_new_tokens=6"])
    assert done.exit_code == 0, done.output
    assert done.output.count("; gold ") == 2 and "gold [even])" in done.output  # brackets printed, not markup


def test_read_questions_keeps_other_fields(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a", "answer": "1"}\n\n{"question": "b"}\n')
    assert [r["question"] for r in read_questions(path)] == ["a", "b"]


def test_a_recipe_prompts_a_bare_model_as_its_task_does(tiny_path, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task:\n  callable: loop_task:make_worked_example_task\ndevice: cpu\n")
    from selftaught.core.config import load_config

    source = open_source(tiny_path, recipe_cfg=load_config(recipe))
    assert source.cfg.model == tiny_path
    assert prompt_for(source.task, "hi") == [{"role": "system", "content": "Be even."},
                                             {"role": "user", "content": "q-1"},
                                             {"role": "assistant", "content": "ab"}, {"role": "user", "content": "hi"}]
    done = runner.invoke(app, ["answer", tiny_path, "hi", "--recipe", str(recipe), "--set", "max_new_tokens=3"])
    assert done.exit_code == 0, done.output
