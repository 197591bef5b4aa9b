"""Every bad-input path: one clear paragraph, exit code 2, and an existing run directory untouched."""

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def existing_run(tmp_path):
    """A run directory with files in it, to check that a failing command leaves it byte-identical."""
    run = tmp_path / "run"
    (run / "rounds" / "000").mkdir(parents=True)
    (run / "config.yaml").write_text("name: old\n")
    (run / "rounds" / "000" / "metrics.json").write_text('{"round": 0}\n')
    return run


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def run_cli(tmp_path, existing_run, *args):
    before = snapshot(existing_run)
    result = runner.invoke(app, ["run", *args, "--run-dir", str(existing_run)])
    assert snapshot(existing_run) == before, "a failed command changed the run directory"
    return result


def recipe(tmp_path, text):
    p = tmp_path / "recipe.yaml"
    p.write_text(text)
    return str(p)


def jsonl(tmp_path, lines):
    p = tmp_path / "data.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return str(p)


GOOD = '{"question": "1+1", "answer": "2"}'
NO_ANSWER = '{"question": "1+1", "solution": "2"}'
ONLY_ONE = '{"question": "only one", "answer": "1"}'


def eval_only_rows(k=3):
    """Rows whose questions all hash into the eval split, so the training split is empty."""
    from selftaught.tasks.jsonl import EVAL_ONE_IN, _hash

    qs = [q for q in (f"what is {i}?" for i in range(200)) if _hash(q) % EVAL_ONE_IN == 0][:k]
    return [f'{{"question": "{q}", "answer": "1"}}' for q in qs]


def path_recipe(t, m, lines):
    return [recipe(t, f"model: {m}\ntask: {{path: {jsonl(t, lines)}}}\n")]


CASES = {
    "unknown recipe key": (lambda t, m: [recipe(t, f"model: {m}\ntask: {{name: basic_arithmetic}}\nloop: {{rouns: 2}}\n")],
                           ["loop.rouns", "loop.rounds"]),
    "unknown task": (lambda t, m: [recipe(t, f"model: {m}\ntask: {{name: basic_arithmetc}}\n")],
                     ["basic_arithmetc", "basic_arithmetic"]),
    "unknown gym option": (lambda t, m: [recipe(t, f"model: {m}\ntask: {{name: basic_arithmetic, options: {{max_digit: 2}}}}\n")],
                           ["max_digit", "max_digits"]),
    "malformed jsonl line": (lambda t, m: path_recipe(t, m, [GOOD, "{oops"]),
                             ["data.jsonl", "line 2"]),
    "missing answer field": (lambda t, m: path_recipe(t, m, [NO_ANSWER]),
                             ["data.jsonl", "line 1", "answer"]),
    "model path missing": (lambda t, m: [recipe(t, "model: /no/such/model\ntask: {name: basic_arithmetic}\n")],
                           ["/no/such/model"]),
    "empty training split": (lambda t, m: path_recipe(t, m, eval_only_rows()), ["data.jsonl", "train"]),
    "empty eval split": (lambda t, m: path_recipe(t, m, [ONLY_ONE]), ["data.jsonl", "eval split is empty"]),
    "bad override": (lambda t, m: [recipe(t, f"model: {m}\ntask: {{name: basic_arithmetic}}\n"), "--set", "sampling.temperature=hot"],
                     ["sampling.temperature"]),
    "missing recipe": (lambda t, m: [str(t / "nope.yaml")], ["nope.yaml"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_a_clear_message(case, tmp_path, existing_run, tiny_path):
    make_args, must_say = CASES[case]
    result = run_cli(tmp_path, existing_run, *make_args(tmp_path, tiny_path))
    assert result.exit_code == 2, (case, result.output)
    text = " ".join(result.output.split())
    for fragment in must_say:
        assert fragment in text, (case, fragment, result.output)
    assert "Traceback" not in result.output


def test_report_on_missing_run_dir_exits_2(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_tasks_lists_reasoning_gym():
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "basic_arithmetic" in result.output
