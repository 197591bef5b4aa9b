"""Prompt shape: system, few-shot user/assistant turns, the question; worked-example shapes."""

from selftaught.tasks.extract import extract_answer
from selftaught.tasks.prompts import (
    DEFAULT_SYSTEM_PROMPT,
    build_messages,
    default_worked_example,
    expression_worked_example,
    worked_example_for,
)


def test_shape_with_examples():
    msgs = build_messages("Q?", [("q1", "a1"), ("q2", "a2")])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"] == DEFAULT_SYSTEM_PROMPT
    assert [m["content"] for m in msgs[1:]] == ["q1", "a1", "q2", "a2", "Q?"]


def test_no_examples_and_custom_system():
    msgs = build_messages("Q?", [], "Be terse.")
    assert msgs == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Q?"}]


def test_default_instruction_asks_for_answer_line():
    assert "Answer: <answer>" in DEFAULT_SYSTEM_PROMPT


def test_worked_examples_end_in_an_extractable_answer():
    arith = expression_worked_example("Calculate 5 - 3.", "2", {"expression": "5 - 3"})
    assert arith == "5 - 3 = 2\nAnswer: 2"
    generic = default_worked_example("Spell 'cat' backwards.", "tac", {})
    assert generic.endswith("\nAnswer: tac") and extract_answer(generic) == "tac"
    assert expression_worked_example("q", "7", {}) == default_worked_example("q", "7", {})


def test_worked_example_registry():
    assert worked_example_for("basic_arithmetic") is expression_worked_example
    assert worked_example_for("some_other_task") is default_worked_example
