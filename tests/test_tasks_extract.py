"""Answer extraction: where it looks, what it strips, and None when nothing is stated."""

import pytest

from selftaught.tasks.extract import extract_answer, last_boxed


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5 - 3 = 2\nAnswer: 2", "2"),
        ("answer: 7", "7"),
        ("ANSWER:   -12  ", "-12"),
        ("**Answer:** 42", "42"),
        ("**Answer**: 42", "42"),
        ("Final answer: 3.14.", "3.14"),
        ("Final Answer: $\\frac{1}{2}$", "\\frac{1}{2}"),
        ("Answer: **9**", "9"),
        ("Answer: `9`", "9"),
        ("Answer: 1\nhmm, no.\nAnswer: 4", "4"),  # the LAST answer line wins
        ("**Answer:**\n\n42", "42"),  # value on the next non-empty line
        ("Answer: \\boxed{17}", "17"),
        ("blah \\boxed{5} more \\boxed{6}", "6"),  # last boxed
        ("\\boxed{\\frac{a}{b^{2}}}", "\\frac{a}{b^{2}}"),  # nested braces
        ("So the answer is 12.", "12"),
        ("the answer is 3.5. Let me check.", "3.5"),
        ("I think the final answer is -8", "-8"),
        ("Answer: 2\nso the answer is 3", "2"),  # an Answer line beats the phrase
        ("Answer: 5\n\\boxed{6}", "5"),  # an Answer line beats boxed
    ],
)
def test_extracts(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text", ["", None, "I don't know", "Answer:", "Answer: $ $", "\\boxed{open", "the answer is"])
def test_nothing_found_is_none(text):
    assert extract_answer(text) is None


def test_last_boxed_unbalanced_earlier_one_skipped():
    assert last_boxed("\\boxed{1} and \\boxed{2") == "1"


def test_multiline_block_runs_to_first_empty_line():
    text = "Rotating:\nAnswer:\n1 2\n   \n3 4\n\nHope this helps."
    assert extract_answer(text, multiline=True) == "1 2\n   \n3 4"
    assert extract_answer(text) == "1 2"
    assert extract_answer("Answer: 1 2\n3 4", multiline=True) == "1 2\n3 4"


def test_strip_period_can_be_kept():
    assert extract_answer("Answer: He left.") == "He left"
    assert extract_answer("Answer: He left.", strip_period=False) == "He left."
