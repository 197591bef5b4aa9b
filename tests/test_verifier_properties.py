"""Property tests of the verifier (hypothesis, derandomized so a run is the same every time).

- the JSONL scorer and the equivalence never crash, whatever the text, and equivalence is symmetric;
- a permutation of the letters of a word answer (a different word) is never scored correct;
- a right number stays right in every common format (`1000`, `1,000`, `1 000`, `1000.0`,
  `\\boxed{1000}`, `$1000$`), and the next number stays wrong in all of them.
"""

import json
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from selftaught.core.records import Problem
from selftaught.scoring.equivalence import MODES, equivalent
from selftaught.tasks.jsonl import JsonlTask

FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
ANSWERISH = st.text(alphabet="0123456789abcxyzPQ .,;:-+*/^=()[]{}$%\\'\"°\n", max_size=30) | st.text(max_size=30)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    path = tmp_path_factory.mktemp("props") / "qa.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": "1"}) + "\n" for i in range(10)))
    return JsonlTask(path, few_shot=0)


@FAST
@given(truth=ANSWERISH.filter(lambda t: t.strip()), answer=ANSWERISH,
       marker=st.sampled_from(["Answer: ", "", "\\boxed{"]))
def test_scorer_never_crashes(task, truth, answer, marker):
    score = task.score(Problem("p", "q", truth), marker + answer)
    assert score.verdict in {"correct", "incorrect", "unparsed"}
    assert score.reward == (1.0 if score.verdict == "correct" else 0.0)


@FAST
@given(a=ANSWERISH, b=ANSWERISH, mode=st.sampled_from(MODES))
def test_equivalence_never_crashes_and_is_symmetric(a, b, mode):
    assert equivalent(a, b, mode) == equivalent(b, a, mode)
    assert equivalent(a, a, mode)


@FAST
@given(data=st.data(), word=st.text(alphabet=string.ascii_letters, min_size=2, max_size=12))
def test_permuting_the_letters_of_a_word_never_keeps_it_correct(task, data, word):
    other = "".join(data.draw(st.permutations(list(word))))
    assume(other.lower() != word.lower())
    assert task.score(Problem("p", "q", word), f"Answer: {other}").verdict == "incorrect"
    assert not equivalent(word, other)


def formats(n: int) -> list[str]:
    """`n` written the ways a model or a dataset writes it."""
    grouped = f"{n:,}"
    return [str(n), grouped, grouped.replace(",", " "), f"{n}.0", f"\\boxed{{{n}}}", f"${n}$", f"\\boxed{{{grouped}}}",
            f"{n:.2f}", f"**{n}**"]


@FAST
@given(n=st.integers(-10**12, 10**12), data=st.data())
def test_a_right_number_stays_right_in_every_format(task, n, data):
    truth = data.draw(st.sampled_from(formats(n)))
    for written in formats(n):
        assert task.score(Problem("p", "q", truth), f"Answer: {written}").verdict == "correct", (truth, written)
    for written in formats(n + 1):
        assert task.score(Problem("p", "q", truth), f"Answer: {written}").verdict == "incorrect", (truth, written)


@FAST
@given(cents=st.integers(-10**8, 10**8).filter(lambda c: c % 100),
       unit=st.sampled_from(["", " legs", " km", " (approx.)"]))
def test_a_right_decimal_stays_right_with_a_unit_or_remark(task, cents, unit):
    value = f"{cents / 100:.2f}"
    assert task.score(Problem("p", "q", value), f"Answer: {value}0{unit}").verdict == "correct"
    assert task.score(Problem("p", "q", value), f"Answer: {(cents + 1) / 100:.2f}{unit}").verdict == "incorrect"
