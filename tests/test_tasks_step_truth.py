"""Exact per-step truth of +/- sums, the step splitter, continuation prompts and the step-structured prompts."""

import pytest

from selftaught.core.config import TaskConfig
from selftaught.core.errors import ConfigError
from selftaught.tasks import build_task
from selftaught.tasks.formats import chat_text, format_prompt
from selftaught.tasks.step_truth import partial_sum_truth, signed_terms, step_truth_for
from selftaught.tasks.steps import continuation_prompt, first_error_search, prefix_text, split_steps, step_separator

META = {"metadata": {"expression": "12 - ( 5 + -3 ) + 4"}}  # terms 12, -5, 3, 4; partial sums 7, 10, 14


def truth(steps, gold="14"):
    return partial_sum_truth(META, gold, steps)


def test_signed_terms_flattens_parentheses_and_double_signs():
    assert signed_terms("12 - ( 5 + -3 ) + 4") == [12, -5, 3, 4]
    assert signed_terms("-( -2 )") == [2]
    assert signed_terms("4 + ( 1") is None and signed_terms("2 x 3") is None


def test_right_path_all_true():
    t = truth(["12 - 5 = 7", "7 + 3 = 10", "10 + 4 = 14", "Answer: 14"])
    assert t.labels == [True] * 4 and t.first_error is None


def test_first_arithmetic_slip_and_everything_after_is_wrong():
    t = truth(["12 - 5 = 7", "7 + 3 = 11", "11 + 4 = 15", "Answer: 15"])
    assert t.labels == [True, False, False, False] and t.first_error == 1


def test_right_arithmetic_off_the_path_is_wrong():
    # 12 + 5 = 17 is arithmetic that holds, but it adds a term the expression subtracts
    t = truth(["12 + 5 = 17", "17 + 3 = 20"])
    assert t.first_error == 0


def test_bigger_steps_words_and_restarts_are_fine():
    t = truth(["Work left to right.", "12 - 5 + 3 = 10", "12 - 5 + 3 + 4 = 14", "Answer: 14"])
    assert t.labels == [True] * 4
    chained = truth(["12 - 5 = 7", "7 + 3 + 4 = 10 + 4 = 14", "Answer: 14"])
    assert chained.first_error is None


def test_wrong_answer_line_after_right_steps():
    t = truth(["12 - 5 = 7", "7 + 3 = 10", "10 + 4 = 14", "Answer: 41"])
    assert t.first_error == 3


def test_no_truth_for_products_or_missing_expression():
    assert partial_sum_truth({"metadata": {"expression": "3 * 4"}}, "12", ["3 * 4 = 12"]) is None
    assert partial_sum_truth({}, "1", ["1"]) is None


def test_step_truth_for_tasks():
    class Plain:
        name = "gcd"

    class Own:
        name = "mine"

        def step_truth(self, meta, gold, steps):
            return None

    assert step_truth_for(Plain()) is None
    assert step_truth_for(Own()) is not None
    assert step_truth_for(type("T", (), {"name": "chain_sum"})()) is partial_sum_truth


def test_separator_from_task_and_split_round_trip():
    task = type("T", (), {"step_separator": "\n\n"})()
    assert step_separator(task) == "\n\n" and step_separator(object()) == "\n"
    text = "a = 1\nb\n\nAnswer: 2\n"
    assert split_steps(text) == ["a = 1", "b", "Answer: 2"]
    assert split_steps(prefix_text(split_steps(text)) + "more") == ["a = 1", "b", "Answer: 2", "more"]


def test_continuation_prompt_chat_and_plain(tiny_model_and_tokenizer):
    _, tok = tiny_model_and_tokenizer
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "1 + 2 + 3 ="}]
    cont = continuation_prompt(msgs, "1 + 2 = 3\n")
    chat = chat_text(tok, cont)
    assert chat == chat_text(tok, msgs) + "1 + 2 = 3\n"  # generation prompt, then the prefix as it is
    assert format_prompt(cont, "plain") == format_prompt(msgs, "plain") + "1 + 2 = 3\n"


def test_first_error_search_finds_first_zero_with_few_probes():
    values = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    asked = []

    def probe(pairs):
        asked.extend(pairs)
        return [values[i] for _, i in pairs]

    assert first_error_search([len(values)], probe) == [5]
    assert len(asked) <= 4  # log2(12) probes, not 12


def test_steps_demos_give_partial_sum_examples():
    task = build_task(TaskConfig(name="basic_arithmetic", demos="steps", few_shot=2,
                                 options={"min_terms": 3, "max_terms": 3, "operators": ["+", "-"]}))
    assert "demos=steps" in task.version
    for question, worked in task.examples():
        lines = split_steps(worked)
        assert len(lines) == 3 and lines[-1].startswith("Answer:")
    problem = task.problems("eval", 1, 0)[0]
    gold_steps = split_steps(problem.prompt[2]["content"])  # the first worked example
    assert all(" = " in s for s in gold_steps[:-1])


def test_steps_demos_refused_for_a_task_without_them():
    with pytest.raises(ConfigError, match="demos: steps"):
        build_task(TaskConfig(name="gcd", demos="steps"))
