"""load_callable_task and build_task: user tasks by `module:function`, and picking the adapter."""

import sys
import textwrap

import pytest

from selftaught.core.config import TaskConfig
from selftaught.core.errors import ConfigError
from selftaught.core.protocols import Task
from selftaught.tasks import JsonlTask, ReasoningGymTask, build_task, load_callable_task

MODULE = textwrap.dedent(
    """
    from selftaught.core.records import Problem, Score

    class Echo:
        name = "echo"
        version = "1"

        def problems(self, split, n, seed, level=None):
            return [Problem(id=f"echo-{split}-{seed}-{i}", prompt=f"Say {i}", answer=str(i)) for i in range(n)]

        def score(self, problem, completion):
            ok = completion.strip() == problem.answer
            return Score(problem.id, completion.strip(), "correct" if ok else "incorrect", float(ok))

    def make_task():
        return Echo()

    def make_nothing():
        return 42

    def needs_args(x):
        return Echo()

    class Versionless:
        name = "v"
        def problems(self, split, n, seed, level=None): return []
        def score(self, problem, completion): return None

    def make_versionless():
        return Versionless()

    INSTANCE = Echo()
    """
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_user_tasks.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_user_tasks"
    sys.modules.pop("my_user_tasks", None)


def test_loads_a_task_from_a_function(user_module):
    task = load_callable_task(f"{user_module}:make_task")
    assert isinstance(task, Task) and task.name == "echo"
    assert [p.id for p in task.problems("eval", 2, 0)] == ["echo-eval-0-0", "echo-eval-0-1"]


def test_accepts_a_task_instance(user_module):
    assert load_callable_task(f"{user_module}:INSTANCE").name == "echo"


@pytest.mark.parametrize("spec", ["no_colon", ":make_task", "mod:", "a:b:c"])
def test_bad_spec(spec):
    with pytest.raises(ConfigError, match="module:function"):
        load_callable_task(spec)


def test_missing_module():
    with pytest.raises(ConfigError, match="cannot import module `surely_not_a_module_xyz`"):
        load_callable_task("surely_not_a_module_xyz:make")


def test_missing_attribute_lists_public_names(user_module):
    with pytest.raises(ConfigError) as e:
        load_callable_task(f"{user_module}:make_tsak")
    assert "no attribute `make_tsak`" in str(e.value) and "make_task" in str(e.value)


def test_wrong_return_type(user_module):
    with pytest.raises(ConfigError, match="returned int, not a Task"):
        load_callable_task(f"{user_module}:make_nothing")
    with pytest.raises(ConfigError, match="lacks version"):
        load_callable_task(f"{user_module}:make_versionless")
    with pytest.raises(ConfigError, match="no arguments"):
        load_callable_task(f"{user_module}:needs_args")


def test_build_task_picks_by_field(user_module, tmp_path):
    gym = build_task(TaskConfig(name="basic_arithmetic", options={"max_terms": 2}, few_shot=1))
    assert isinstance(gym, ReasoningGymTask) and gym.few_shot == 1
    (tmp_path / "qa.jsonl").write_text('{"q": "1+1?", "a": "2"}\n')
    jsonl = build_task(TaskConfig(path=str(tmp_path / "qa.jsonl"), question_field="q", answer_field="a"))
    assert isinstance(jsonl, JsonlTask)
    assert build_task(TaskConfig(callable=f"{user_module}:make_task")).name == "echo"


def test_build_task_needs_exactly_one_source():
    with pytest.raises(ConfigError, match="exactly one"):
        build_task(TaskConfig())
    with pytest.raises(ConfigError, match="exactly one"):
        build_task(TaskConfig(name="basic_arithmetic", path="x.jsonl"))
    with pytest.raises(ConfigError, match="options"):
        build_task(TaskConfig(path="x.jsonl", options={"a": 1}))
