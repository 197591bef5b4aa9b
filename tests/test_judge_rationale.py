"""Rationale-then-verdict judges alone: verdict parsing and parse failures, the pointwise score, the
pairwise judge's seeded answer order, judgment pairs for self-rationalization, and rule `judge`."""

import re

import pytest
from _inference_fakes import ScriptedGenerator, last_user

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.records import Problem, Sample, Score
from selftaught.scoring import make_scorer
from selftaught.scoring.rationale_judge import (
    PairwiseJudge,
    RationaleJudge,
    judge_messages,
    parse_choice,
    parse_verdict,
    verdict_score,
)
from selftaught.select import select
from selftaught.select.judgments import build_judgment_pairs


@pytest.mark.parametrize("text,verdict", [
    ("3 + 4 = 7, so the answer holds.\nVerdict: correct", "correct"),
    ("Verdict: incorrect", "incorrect"),
    ("**Verdict:** `Correct`", "correct"),
    ("verdict - WRONG", "incorrect"),
    ("Verdict: correct... no wait. Verdict: incorrect", "incorrect"),  # the last verdict counts
    ("The solution is correct.", None),  # no verdict line: a parse failure, not "correct"
    ("Verdict: maybe", None),
    ("", None),
])
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


@pytest.mark.parametrize("text,choice", [("Verdict: A", "A"), ("verdict: answer B.", "B"), ("Verdict: C", None),
                                         ("A is right", None), ("Verdict: B\nVerdict: A", "A")])
def test_parse_choice(text, choice):
    assert parse_choice(text) == choice


def _answer_of(prompt):
    return re.search(r"Proposed solution:\n(.*?)\n\n", last_user(prompt), re.DOTALL).group(1)


def test_pointwise_score_is_share_of_parsed_verdicts_and_failures_are_counted():
    replies = {"Answer: 4": ["Verdict: correct", "Verdict: correct", "Verdict: incorrect", "hmm"],
               "Answer: 5": ["no verdict here"] * 4}
    gen = ScriptedGenerator(lambda prompt, pid, j, params: replies[_answer_of(prompt)][j])
    judge = RationaleJudge(gen, m=4, temperature=0.7, seed=11)
    problems = [Problem("p", "2+2?", "4")] * 3
    samples = [Sample("p", "Answer: 4", 2, index=0), Sample("p", "Answer: 5", 2, index=1),
               Sample("p", "Answer: 4 ", 2, index=2)]
    assert judge(problems, samples) == [pytest.approx(2 / 3), 0.5, pytest.approx(2 / 3)]
    assert len(gen.calls) == 1 and gen.calls[0]["n"] == 4 and gen.calls[0]["seed"] == 11
    assert len(gen.calls[0]["prompts"]) == 2  # the repeated answer is judged once
    assert judge.metrics() == {"judgments": 8, "parse_failures": 5, "parse_failure_rate": 5 / 8}
    judge(problems[:1], samples[:1])  # cached: no new call, no new count
    assert len(gen.calls) == 1 and judge.judgments == 8


def test_registered_scorers_need_a_generator_and_bad_m_is_a_config_error():
    gen = ScriptedGenerator(lambda *a: "Verdict: correct")
    assert make_scorer("judge_rationale", generator=gen)([Problem("p", "q")], [Sample("p", "x", 1)]) == [1.0]
    with pytest.raises(ConfigError, match="judge_rationale scorer needs a generator"):
        make_scorer("judge_rationale")
    with pytest.raises(ConfigError, match="judge.m"):
        RationaleJudge(gen, m=0)


def _pairwise_samples():
    problems = [Problem(f"p{i}", f"{i}+{i}?", str(2 * i)) for i in range(12)]
    samples = [Sample(p.id, f"Answer: {2 * int(p.id[1:]) + d}", 2, index=d) for p in problems for d in range(2)]
    return [problems[int(s.problem_id[1:])] for s in samples], samples


def test_pairwise_order_is_randomised_and_seeded():
    problems, samples = _pairwise_samples()
    gen = ScriptedGenerator(lambda *a: "Verdict: A")  # a judge that always picks the first answer shown
    judge = PairwiseJudge(gen, seed=5)
    scores = judge(problems, samples)
    first_shown = [re.search(r"Answer A:\n(.*?)\n", last_user(p)).group(1) for p in gen.calls[0]["prompts"]]
    correct_first = sum(a == f"Answer: {2 * i}" for i, a in enumerate(first_shown))
    assert 0 < correct_first < 12  # both orders occur: the right answer is not always shown first
    assert judge.metrics()["first_wins"] == 1.0  # its position bias is measured
    assert sum(scores[0::2]) == correct_first  # each right answer wins exactly when it was shown first
    again = ScriptedGenerator(lambda *a: "Verdict: A")
    assert PairwiseJudge(again, seed=5)(problems, samples) == scores  # same seed, same order
    other = ScriptedGenerator(lambda *a: "Verdict: A")
    PairwiseJudge(other, seed=6)(problems, samples)
    assert other.calls[0]["prompts"] != gen.calls[0]["prompts"]


def test_pairwise_winner_maps_back_through_the_swap():
    problems, samples = _pairwise_samples()

    def knows(prompt, pid, j, params):  # picks the right answer wherever it is shown
        text = last_user(prompt)
        a = int(re.search(r"Answer A:\nAnswer: (\d+)", text).group(1))
        return "Verdict: A" if a % 2 == 0 else "Verdict: B"

    judge = PairwiseJudge(ScriptedGenerator(knows), seed=1)
    assert judge(problems, samples) == [1.0, 0.0] * 12


def _judged(texts_and_verdicts):
    return [{"text": t, "verdict": v} for t, v in texts_and_verdicts]


def test_judgment_pairs_prefer_verdicts_that_agree_with_the_verifier():
    problems = [Problem("a", "2+2?", "4"), Problem("b", "3+3?", "6")]
    samples = [Sample("a", "Answer: 4", 1, index=0), Sample("a", "Answer: 5", 1, index=1), Sample("b", "Answer: 6", 1)]
    scores = [Score("a#0", "4", "correct", 1.0), Score("a#1", "5", "incorrect", 0.0), Score("b#0", "6", "correct", 1.0)]
    judgments = [
        _judged([("fine. Verdict: correct", "correct"), ("bad. Verdict: incorrect", "incorrect"), ("hmm", None)]),
        _judged([("ok. Verdict: correct", "correct"), ("2+2=4. Verdict: incorrect", "incorrect")]),
        _judged([("yes. Verdict: correct", "correct")] * 2),  # all agree: no pair
    ]
    messages = lambda p, s: judge_messages(p, s.text)
    pairs = build_judgment_pairs([problems[0]] * 2 + [problems[1]], samples, scores, judgments, messages,
                                 pairs_per_answer=2, seed=3)
    assert [p["sample_id"] for p in pairs] == ["a#0", "a#0", "a#1"]
    assert {p["rejected"][0]["content"] for p in pairs[:2]} == {"bad. Verdict: incorrect", "hmm"}  # unparsed: rejected
    assert all(p["chosen"][0]["content"] == "fine. Verdict: correct" for p in pairs[:2])
    assert pairs[2]["chosen"][0]["content"] == "2+2=4. Verdict: incorrect" and pairs[2]["truth"] == "incorrect"
    assert "Answer: 5" in pairs[2]["prompt"][-1]["content"] and "2+2?" in pairs[2]["prompt"][-1]["content"]
    assert [m["role"] for m in pairs[2]["prompt"]] == ["user", "assistant"] * 2 + ["user"]  # worked judgments first
    one = build_judgment_pairs([problems[0]] * 2 + [problems[1]], samples, scores, judgments, messages, seed=3)
    assert len(one) == 2
    with pytest.raises(DataError, match="must be as many"):
        build_judgment_pairs(problems, samples, scores[:2], judgments, messages)
    with pytest.raises(DataError, match="no problem given for sample.* b"):
        build_judgment_pairs(problems[:1], samples, scores, judgments, messages)


def test_rule_judge_keeps_judge_approved_samples_and_refuses_verifier_scores():
    problems = [Problem("a", "2+2?", "4")]
    samples = [Sample("a", "Answer: 4", 1, index=0), Sample("a", "Answer: 5", 1, index=1)]
    judge_scores = [Score("a#0", "4", "incorrect", 0.0, "judge"), Score("a#1", "5", "correct", 1.0, "judge")]
    kept = select("judge", problems * 2, samples, judge_scores)
    assert [k.sample_id for k in kept] == ["a#1"] and kept[0].label_source == "judge"
    with pytest.raises(DataError, match="scores come from the verifier"):
        select("judge", problems * 2, samples, [Score("a#0", "4", "correct", 1.0)] * 2)


def test_verdict_score_without_parsed_verdicts_is_neutral():
    assert verdict_score([None, None]) == 0.5 and verdict_score(["incorrect"]) == 0.0
