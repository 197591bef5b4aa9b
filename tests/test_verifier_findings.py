"""The JSONL verifier, the vote and reasoning-gym scoring on the answers that used to fool them.

Each pair below was judged wrongly before answer comparison had one home: words sent to math-verify
(read as products of symbols, so anagrams were equal), a parenthetical remark multiplied into the
answer, a unit or a thousands separator refused, and the scorer and the vote disagreeing.
"""

import pytest

from selftaught.core.records import Problem
from selftaught.scoring.equivalence import equivalent
from selftaught.tasks import ReasoningGymTask, answers_match
from selftaught.tasks.jsonl import JsonlTask

WRONG = [  # (truth, answer): different answers that were accepted
    ("Paris", "Pairs"),
    ("silent", "listen"),
    ("144", "12 (10+2)"),  # read as 12*(10+2)
    ("49", "7 (3+4)"),
    ("3", "3, 3"),
]
RIGHT = [  # (truth, answer): the same answer that was refused
    ("12", "12 (10+2)"),
    ("3", "3 (approximately)"),
    ("8", "8 legs"),
    ("3 apples", "3"),
    ("1,000", "1 000"),
    ("1,000", "1000"),
]


@pytest.mark.parametrize("truth, answer", WRONG)
def test_scorer_refuses_a_different_answer(truth, answer):
    assert not answers_match(truth, answer)
    assert not equivalent(truth, answer)


@pytest.mark.parametrize("truth, answer", RIGHT)
def test_scorer_accepts_the_same_answer(truth, answer):
    assert answers_match(truth, answer)
    assert equivalent(truth, answer)


@pytest.mark.parametrize("truth, answer", WRONG + RIGHT)
def test_scorer_and_vote_agree(truth, answer):
    assert answers_match(truth, answer) == equivalent(truth, answer) == equivalent(answer, truth)


def test_jsonl_task_scores_the_completions(tmp_path):
    rows = [{"question": "Capital of France?", "answer": "Paris"}, {"question": "Legs of a spider?", "answer": "8"}]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(f'{{"question": "{r["question"]}", "answer": "{r["answer"]}"}}\n' for r in rows))
    task = JsonlTask(path, few_shot=0)
    paris, legs = (Problem("p", "q", r["answer"]) for r in rows)
    assert task.score(paris, "Answer: Pairs").verdict == "incorrect"
    assert task.score(paris, "Answer: paris.").verdict == "correct"
    assert task.score(legs, "Answer: 8 legs").verdict == "correct"
    assert task.score(legs, "Answer: 2 (4*2)").verdict == "incorrect"


@pytest.mark.parametrize("name", ["leg_counting", "gcd"])
def test_gym_integer_tasks_take_a_unit_and_a_trailing_zero(name):
    task = ReasoningGymTask(name, few_shot=0)
    for p in task.problems("eval", 3, 0):
        gold = int(p.answer)
        assert task.score(p, f"Answer: {gold} legs").verdict == "correct"
        assert task.score(p, f"Answer: {gold}.0").verdict == "correct"
        assert task.score(p, f"Answer: {gold + 1}").verdict == "incorrect"
        assert task.score(p, f"Answer: {gold + 1} legs").verdict == "incorrect"
