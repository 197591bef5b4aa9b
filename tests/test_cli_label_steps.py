"""`selftaught label-steps`: files and summary on a tiny model; bad input fails before a model loads."""

import json

from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app
from selftaught.core.io import read_jsonl

STEPS = ["--set", "task.name=chain_sum", "--set", "task.demos=steps", "--set", "task.few_shot=1",
         "--set", "sampling.max_new_tokens=8", "--set", "device=cpu"]


def test_label_steps_writes_labels_and_agreement(tmp_path):
    model = make_tiny_llama(tmp_path / "tiny")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["label-steps", "--n", "2", "--k", "2", "--out", str(out),
                                      "--set", f"model={model}", *STEPS])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out / "step_labels.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["labelled_steps"] == sum(len(r["labels"]) for r in records)
    for r in records:
        assert len(r["completions"]) == len(r["labels"]) == len(r["soft_labels"]) == len(r["truth"])
        assert all(len(row) == 2 for row in r["mc_correct"][:-1])
    if records:
        assert [row["k"] for row in summary["agreement"]["by_k"]] == [1, 2]


def test_label_steps_refuses_multiline_answers_before_loading(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps({"question": f"list {i} {i + 1}", "answer": f"{i}\n{i + 1}"}) + "\n"
                            for i in range(20)))
    result = CliRunner().invoke(app, ["label-steps", "--n", "2", "--set", "model=/nowhere/model",
                                      "--set", f"task.path={data}", "--set", "device=cpu"])
    assert result.exit_code == 2, result.output
    assert "step_separator" in result.output and "Traceback" not in result.output


def test_label_steps_truth_asked_of_a_task_without_one(tmp_path):
    result = CliRunner().invoke(app, ["label-steps", "--n", "2", "--truth", "--set", "model=/nowhere/model",
                                      "--set", "task.name=gcd", "--set", "device=cpu"])
    assert result.exit_code == 2, result.output
    assert "no exact per-step truth" in result.output and "chain_sum" in result.output


def test_label_steps_bad_search(tmp_path):
    result = CliRunner().invoke(app, ["label-steps", "--search", "beam", "--set", "model=/nowhere/model"])
    assert result.exit_code == 2 and "--search" in result.output
