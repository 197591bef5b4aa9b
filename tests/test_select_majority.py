"""Rule `majority`: label-free pseudo-labels by self-consistency."""

import pytest

from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.select import make_majority, select


def make_round(rows, answers):
    problems = [Problem(pid, f"q {pid}", answers.get(pid)) for pid in rows]
    samples, scores = [], []
    for pid, extracted in rows.items():
        for i, ext in enumerate(extracted):
            s = Sample(pid, f"work {i} gives {ext}", 5, index=i)
            gold = answers.get(pid)
            verdict = "unparsed" if ext is None else ("correct" if ext == gold else "incorrect")
            samples.append(s)
            scores.append(Score(s.id, ext, verdict, float(verdict == "correct")))
    return problems, samples, scores


ROWS = {"p1": ["4", "5", "4", None], "p2": ["7", "8", None, None], "p3": ["1", "2", "2", "2"]}
GOLD = {"p1": "4", "p3": "1"}  # p2 is label-free


def test_keeps_samples_agreeing_with_the_majority():
    kept = select("majority", *make_round(ROWS, GOLD))
    by_problem = {}
    for k in kept:
        by_problem.setdefault(k.problem_id, []).append(k)
    assert [k.sample_id for k in by_problem["p1"]] == ["p1#0", "p1#2"]
    assert [k.sample_id for k in by_problem["p2"]] == ["p2#0"]  # tie 7-8: first seen wins
    assert [k.sample_id for k in by_problem["p3"]] == ["p3#1", "p3#2", "p3#3"]
    assert {k.label for k in by_problem["p3"]} == {"2"}
    assert all(k.label_source == "majority" and k.rule == "majority" for k in kept)


def test_records_vote_share_and_agreement_with_gold():
    kept = {k.problem_id: k for k in select("majority", *make_round(ROWS, GOLD))}
    assert kept["p1"].score == pytest.approx(0.5)  # 2 votes of 4 samples
    assert kept["p1"].meta == {"votes": 2, "parsed": 3, "n": 4, "label_correct": True}
    assert kept["p2"].meta["label_correct"] is None  # no gold
    assert kept["p3"].meta["label_correct"] is False  # majority says 2, gold is 1


def test_min_share_counts_unparsed_against_the_label():
    kept = select("majority", *make_round(ROWS, GOLD), min_share=0.5)
    assert sorted({k.problem_id for k in kept}) == ["p1", "p3"]  # p2: 1 vote of 4
    kept = select("majority", *make_round(ROWS, GOLD), min_share=0.75)
    assert {k.problem_id for k in kept} == {"p3"}
    kept = select("majority", *make_round(ROWS, GOLD), min_votes=3)
    assert {k.problem_id for k in kept} == {"p3"}


def test_all_unparsed_problem_keeps_nothing():
    assert select("majority", *make_round({"p": [None, None]}, {})) == []


def test_gold_match_overrides_the_verdict_check():
    kept = select("majority", *make_round(ROWS, GOLD),
                  gold_match=lambda problem, label: label == "2")
    labels = {k.problem_id: k.meta["label_correct"] for k in kept}
    assert labels == {"p1": False, "p2": None, "p3": True}


def test_dedupe_and_cap_apply():
    rows = {"p": ["3"] * 6}
    problems, samples, scores = make_round(rows, {})
    for s in samples[:3]:
        s.text = "same text"
    assert len(select("majority", problems, samples, scores)) == 4  # 3 duplicates -> 1
    assert len(select("majority", problems, samples, scores, max_per_problem=2, seed=1)) == 2


@pytest.mark.parametrize("opts", [{"min_share": 1.5}, {"min_votes": 0}, {"max_per_problem": -1}])
def test_bad_options(opts):
    with pytest.raises(ConfigError):
        make_majority(**opts)


def test_equivalent_spellings_vote_together():
    rows = {"p": ["9", "8 legs", "9", "8", "8.0"]}
    kept = select("majority", *make_round(rows, {"p": "8"}), dedupe=False)
    assert [k.sample_id for k in kept] == ["p#1", "p#3", "p#4"]
    assert kept[0].label == "8 legs" and kept[0].meta["votes"] == 3
    exact = select("majority", *make_round(rows, {"p": "8"}), dedupe=False, equivalence="exact")
    assert [k.sample_id for k in exact] == ["p#0", "p#2"]


def test_the_loop_builds_majority_with_the_tasks_answer_match():
    from selftaught.core.config import SelectConfig
    from selftaught.select import rule_options

    assert rule_options(SelectConfig(rule="majority"), seed=1, equivalence="exact")["equivalence"] == "exact"
    assert "equivalence" not in rule_options(SelectConfig(rule="correct"), seed=1, equivalence="exact")
