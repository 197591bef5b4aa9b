"""docs/extending.md stays true: each example file it marks `<!-- runnable: NAME.py -->` is written to a
temporary folder and run through the route the guide names (`module:thing` from a recipe, `--set` or
Python), and each registration line its table quotes is the one at the bottom of the file it names."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from _inference_fakes import ExactTask, ScriptedGenerator
from selftaught.core.config import load_config

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "extending.md"
RUNNABLE = re.compile(r"<!-- runnable: (\w+)\.py -->\s*```python\n(.*?)```", flags=re.S)
MODULES = ("my_task", "my_strategies", "my_rules", "my_scorers", "my_backend", "my_trainer")


def _blocks() -> dict[str, str]:
    return dict(RUNNABLE.findall(GUIDE.read_text(encoding="utf-8")))


@pytest.fixture
def docs_modules(tmp_path, monkeypatch):
    """The guide's example files, written beside each other on sys.path (as a user's project would be).
    The `module:object` strategies looked up here are forgotten afterwards, as the modules are."""
    import selftaught.inference as inference

    monkeypatch.setattr(inference, "_NAMED", dict(inference._NAMED))
    for name, code in _blocks().items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in MODULES:
        sys.modules.pop(name, None)


def test_the_guide_marks_one_runnable_file_per_kind_and_no_open_checks():
    assert set(_blocks()) == set(MODULES)
    text = GUIDE.read_text(encoding="utf-8")
    assert "<!-- check" not in text, "an unchecked statement is left in the guide"


def test_each_registration_line_quoted_is_the_files_own():
    rows = [line for line in GUIDE.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    quoted = 0
    for row in rows:
        files = re.findall(r"\]\(\.\./(src/selftaught/[\w/]+\.py)\)", row)
        lines = re.findall(r"`(\w+\.register\(.*?\))`", row)
        for line in lines:
            source = (ROOT / files[0]).read_text(encoding="utf-8")
            assert line in source.splitlines(), f"{files[0]} has no line `{line}`"
            quoted += 1
    assert quoted == 8


def doubling_answers():
    """A generator that answers the guide's doubling task correctly (its problem ids are `split-x`)."""
    return ScriptedGenerator(lambda prompt, pid, j, params: f"so Answer: {2 * int(pid.split('-')[1])}")


def test_the_task_through_task_callable(docs_modules):
    from selftaught.tasks import build_task, load_callable_task
    from selftaught.tasks.verdicts import resolve_max_new_tokens

    task = load_callable_task("my_task:make_task")
    train, held_out = task.problems("train", 5, seed=0), task.problems("eval", 5, seed=0)
    assert not {p.id for p in train} & {p.id for p in held_out}
    problem = held_out[0]
    assert problem.answer == "200000"
    assert task.score(problem, "2 * 100000 = 200,000\nAnswer: 200,000").verdict == "correct"
    assert task.score(problem, "Answer: 200001").verdict == "incorrect"
    assert task.score(problem, "I do not know").verdict == "unparsed"
    assert resolve_max_new_tokens(None, task) == 64
    cfg = load_config(None, ["task.callable=my_task:make_task"])
    assert build_task(cfg.task).name == "doubling"


def test_the_strategy_through_evaluate_strategy_and_eval(docs_modules, tmp_path):
    from selftaught.inference import build_strategy
    from selftaught.inference.runner import eval_main, evaluate_strategy

    texts = {0: "Let me think: 3 + 4 is 7, so Answer: 5", 1: "Answer: 7", 2: "no idea"}
    generator = ScriptedGenerator(lambda prompt, pid, j, params: texts[j])
    task = ExactTask({"p1": "7", "p2": "7"})
    cfg = build_strategy("my_strategies:SHORTEST", {"n": 3})
    metrics = evaluate_strategy(task, generator, task.problems("eval", 2, 0), cfg, tmp_path / "a")
    assert metrics["accuracy"] == 1.0  # the shortest sample that states an answer is the right one
    assert [c["n"] for c in generator.calls] == [3] and generator.calls[0]["temperature"] == 0.7

    metrics = eval_main({"callable": "my_task:make_task"}, "unused", ["my_strategies:SHORTEST"], ["n=2"],
                        tmp_path / "b", n_problems=3, generator=doubling_answers())
    assert metrics[0]["accuracy"] == 1.0 and metrics[0]["config"]["n"] == 2


def test_the_selection_rule_through_select_and_a_recipe(docs_modules):
    from selftaught.core.records import Problem, Sample, Score
    from selftaught.select import rule_options, select

    problems = [Problem("a", "2 * 2?", "4"), Problem("b", "2 * 3?", "6")]
    texts = [("a", "Answer: 4", "correct"), ("a", "2 * 2 = 4\nAnswer: 4", "correct"), ("a", "Answer: 5", "incorrect"),
             ("b", "Answer: 7", "incorrect")]
    samples, scores = [], []
    for i, (pid, text, verdict) in enumerate(texts):
        samples.append(Sample(pid, text, len(text), index=i))
        scores.append(Score(samples[-1].id, text[-1], verdict, float(verdict == "correct")))
    kept = select("my_rules:make_longest", problems, samples, scores)
    assert [(k.sample_id, k.rule) for k in kept] == [("a#1", "longest")]

    cfg = load_config(None, ["task.name=basic_arithmetic", "select.rule=my_rules:make_longest",
                             "select.max_per_problem=1"])
    assert rule_options(cfg.select, seed=3) == {"dedupe": True, "max_per_problem": 1, "seed": 3}


def test_the_scorers_in_best_of_n_weighted_vote_and_as_a_grpo_reward(docs_modules, tmp_path):
    from selftaught.core.records import Problem, SamplingParams
    from selftaught.inference import build_strategy
    from selftaught.inference.runner import evaluate_strategy
    from selftaught.scoring import make_scorer, scorer_spec
    from selftaught.train.rewards import build_rewards

    assert scorer_spec("my_scorers:length_score").bounded and scorer_spec("my_scorers:SHORT_AND_RIGHT").bounded
    texts = {0: "so the Answer: 5 because", 1: "Answer: 7", 2: "so 3 + 4 = 7\nAnswer: 7"}
    task = ExactTask({"p1": "7", "p2": "7"})
    problems = task.problems("eval", 2, 0)
    for strategy, scorer in (("best_of_n", "my_scorers:length_score"), ("weighted_vote", "my_scorers:SHORT_AND_RIGHT")):
        generator = ScriptedGenerator(lambda prompt, pid, j, params: texts[j])
        cfg = build_strategy(strategy, {"scorer": scorer, "n": 3})
        assert evaluate_strategy(task, generator, problems, cfg, tmp_path / strategy)["accuracy"] == 1.0

    short_and_right = make_scorer("my_scorers:SHORT_AND_RIGHT", task=task)
    samples = generator.generate([problems[0].prompt], SamplingParams(), n=3, problem_ids=[problems[0].id])[0]
    assert short_and_right([problems[0]] * 3, samples) == [0.0, 1.0 / (1 + samples[1].n_tokens),
                                                           1.0 / (1 + samples[2].n_tokens)]

    cfg = load_config(None, ["task.name=basic_arithmetic", "train.method=grpo",
                             "train.grpo.reward=my_scorers:length_score"])
    funcs, weights, _ = build_rewards(cfg.train.grpo.reward, 0.0, task, [Problem("p1", "q", "7")], None)
    assert funcs[0](prompts=["q", "q"], completions=["ab", "abc"], problem_id=["p1", "p1"],
                    completion_ids=[[1], [1, 2, 3]]) == [0.5, 0.25]


def test_the_backend_from_a_recipe_loads_the_model_and_answers(docs_modules, tiny_path, tmp_path):
    from typer.testing import CliRunner

    from selftaught.cli.main import app
    from selftaught.inference.runner import eval_generator

    cfg = load_config(None, ["task.name=basic_arithmetic", f"model={tiny_path}", "device=cpu",
                             "backend=my_backend:make_generator"])
    generator = eval_generator(cfg)
    assert type(generator).__name__ == "EchoGenerator"

    # the whole route from the command line: a user task, strategy and backend, each named module:thing
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "eval", "--strategy", "my_strategies:SHORTEST", "--set", f"model={tiny_path}", "--set", "device=cpu",
        "--set", "backend=my_backend:make_generator", "--set", "task.callable=my_task:make_task",
        "--set", "n=2", "--n", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "my_strategies:SHORTEST" / "traces.jsonl").read_text().splitlines()]
    assert [r["answer"] for r in rows] == ["42", "42"] and [r["verdict"] for r in rows] == ["incorrect"] * 2


def test_the_trainer_from_a_recipe_trains_and_saves(docs_modules, tiny_model_and_tokenizer, tmp_path):
    from selftaught.train import records_file, train_round

    cfg = load_config(None, ["task.name=basic_arithmetic", "train.method=my_trainer:TRAINER",
                             "train.learning_rate=1e-2"])
    assert records_file(cfg.train.method) == "selected.jsonl"
    model, tokenizer = tiny_model_and_tokenizer
    record = {"messages": [{"role": "user", "content": "2 * 3?"}, {"role": "assistant", "content": "Answer: 6"}]}
    model, result = train_round(cfg, model, tokenizer, [record] * 6, "cpu", 0, tmp_path / "checkpoint")
    assert result.steps == 6 and result.losses[-1] < result.losses[0]
    assert (tmp_path / "checkpoint" / "config.json").is_file()
    plain = {"prompt": "Question: 2 * 3?\n", "completion": "Answer: 6"}
    _, result = train_round(cfg, model, tokenizer, [plain], "cpu", 1, tmp_path / "checkpoint2")  # plain text
    assert result.steps == 1
