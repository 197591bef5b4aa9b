"""JsonlTask: hash split, sampling, errors naming file and line, math-verify scoring, datasets folders."""

import json
import logging

import pytest

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.protocols import Task
from selftaught.tasks import JsonlTask, answers_match
from selftaught.tasks.jsonl import EVAL_ONE_IN, _hash


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def qa_file(tmp_path):
    rows = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(60)]
    return write(tmp_path / "qa.jsonl", rows)


def test_split_is_disjoint_stable_and_excludes_shots(qa_file):
    task = JsonlTask(qa_file, few_shot=2)
    assert isinstance(task, Task) and task.name == "qa" and "match=auto" in task.version
    train = {p.meta["question"] for p in task.problems("train", 1000, 0)}
    evals = {p.meta["question"] for p in task.problems("eval", 1000, 0)}
    shots = {q for q, _ in task.examples()}
    assert len(shots) == 2 and not train & evals and not shots & (train | evals)
    assert len(train | evals | shots) == 60
    assert all(_hash(q) % EVAL_ONE_IN == 0 for q in evals)
    again = JsonlTask(qa_file, few_shot=2)
    assert {p.meta["question"] for p in again.problems("eval", 1000, 5)} == evals


def test_sampling_is_deterministic_in_seed(qa_file):
    task = JsonlTask(qa_file)
    a = [p.id for p in task.problems("train", 10, 1)]
    assert a == [p.id for p in JsonlTask(qa_file).problems("train", 10, 1)]
    assert a != [p.id for p in task.problems("train", 10, 2)]
    assert len(set(a)) == 10


def test_prompt_and_worked_examples(qa_file):
    task = JsonlTask(qa_file, few_shot=1, system_prompt="Go.")
    p = task.problems("eval", 1, 0)[0]
    assert [m["role"] for m in p.prompt] == ["system", "user", "assistant", "user"]
    assert p.prompt[0]["content"] == "Go." and p.prompt[2]["content"].endswith("\nAnswer: " + task.examples()[0][1].split()[-1])


def test_fewer_than_n_returns_all_with_warning(qa_file, caplog):
    task = JsonlTask(qa_file)
    with caplog.at_level(logging.WARNING, logger="selftaught.tasks"):
        got = task.problems("eval", 10_000, 0)
    assert 0 < len(got) < 60 and "only" in caplog.text


def test_empty_split_is_an_error(tmp_path):
    rows = [{"question": "What is 1 + 1?", "answer": "2"}]
    path = write(tmp_path / "one.jsonl", rows)
    task = JsonlTask(path, few_shot=0)
    empty = "train" if _hash(rows[0]["question"]) % EVAL_ONE_IN == 0 else "eval"
    with pytest.raises(DataError, match="one.jsonl") as e:
        task.problems(empty, 1, 0)
    assert "empty" in str(e.value)


def test_malformed_line_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.jsonl", ['{"question": "a", "answer": "1"}', "", '{"question": "b", answer}'])
    with pytest.raises(DataError) as e:
        JsonlTask(path)
    assert "bad.jsonl" in str(e.value) and "line 3" in str(e.value)


def test_missing_answer_field_names_line_field_and_present_fields(tmp_path):
    path = write(tmp_path / "qa.jsonl", ['{"question": "a", "answer": "1"}', "", '{"question": "b", "solution": "2"}'])
    with pytest.raises(DataError) as e:
        JsonlTask(path)
    msg = str(e.value)
    assert "qa.jsonl, line 3" in msg and "`answer`" in msg and "question, solution" in msg


def test_custom_fields_and_numeric_answers(tmp_path):
    path = write(tmp_path / "qa.jsonl", [{"problem": f"p{i}", "solution": i} for i in range(20)])
    task = JsonlTask(path, question_field="problem", answer_field="solution", few_shot=0)
    assert all(p.answer == p.meta["question"][1:] for p in task.problems("train", 5, 0))
    with pytest.raises(DataError, match="`question`"):
        JsonlTask(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        JsonlTask(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no rows"):
        JsonlTask(write(tmp_path / "empty.jsonl", []))


def test_bad_split_and_level(qa_file):
    task = JsonlTask(qa_file)
    with pytest.raises(ConfigError):
        task.problems("test", 1, 0)
    with pytest.raises(ConfigError, match="level"):
        task.problems("train", 1, 0, level=1)


@pytest.mark.parametrize("gold", ["\\frac{1}{2}", "0.5", "1/2"])
@pytest.mark.parametrize("pred", ["\\frac{1}{2}", "0.5", "1/2", "$\\frac{1}{2}$"])
def test_math_verify_equivalences(gold, pred):
    assert answers_match(gold, pred)


@pytest.mark.parametrize("gold, pred", [("1/2", "0.25"), ("3", "-3"), ("Paris", "London")])
def test_math_verify_differences(gold, pred):
    assert not answers_match(gold, pred)


def test_string_fallback_when_unparseable():
    assert answers_match("Paris", "  paris. ")
    assert answers_match("A and B", "a and b")


def test_scoring_verdicts(tmp_path):
    path = write(tmp_path / "half.jsonl", [{"question": f"Half of {i}?", "answer": "\\frac{1}{2}"} for i in range(30)])
    task = JsonlTask(path, few_shot=0)
    p = task.problems("train", 1, 0)[0]
    good = task.score(p, "Dividing.\nAnswer: 0.5")  # the Task contract: score(problem, completion)
    assert (good.verdict, good.reward, good.extracted, good.sample_id) == ("correct", 1.0, "0.5", p.id)
    assert task.score(p, "\\boxed{1/2}").verdict == "correct"
    assert task.score(p, "Answer: 0.25").verdict == "incorrect"
    assert task.score(p, "no idea").verdict == "unparsed"


def test_datasets_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"question": [f"What is {i} * 2?" for i in range(40)], "answer": [str(2 * i) for i in range(40)]}
    folder = tmp_path / "ds"
    datasets.Dataset.from_dict(rows).save_to_disk(str(folder))
    task = JsonlTask(folder, few_shot=1)
    p = task.problems("eval", 3, 0)[0]
    assert task.score(p, f"Answer: {p.answer}").verdict == "correct"
    both = datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows), "test": datasets.Dataset.from_dict(rows)})
    both.save_to_disk(str(tmp_path / "dd"))
    assert len(JsonlTask(tmp_path / "dd", few_shot=0).problems("train", 100, 0)) < 40  # pooled, deduplicated


def test_datasets_folder_missing_field_names_row(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"q": ["a", "b"], "answer": ["1", "2"]}).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(DataError, match="row 0") as e:
        JsonlTask(tmp_path / "ds")
    assert "answer, q" in str(e.value)


def test_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(DataError, match="save_to_disk"):
        JsonlTask(tmp_path / "junk")



def test_answer_match_from_the_config(tmp_path):
    from selftaught.core.config import TaskConfig
    from selftaught.tasks import build_task

    path = write(tmp_path / "n.jsonl", [{"question": f"Legs of {i} spiders?", "answer": str(8 * i)} for i in range(1, 30)])
    auto = build_task(TaskConfig(path=str(path), few_shot=0))
    exact = build_task(TaskConfig(path=str(path), few_shot=0, answer_match="exact"))
    p = auto.problems("train", 1, 0)[0]
    assert auto.score(p, f"Answer: {p.answer} legs").verdict == "correct"
    assert exact.score(p, f"Answer: {p.answer} legs").verdict == "incorrect"
    assert exact.score(p, f"Answer: {p.answer}").verdict == "correct"
    assert "match=exact" in exact.version and auto.version != exact.version
    with pytest.raises(ConfigError, match="answer_match"):
        JsonlTask(path, answer_match="fuzzy")
