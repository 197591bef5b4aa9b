"""The rule registry, `select()` errors, user rules by "module:object", selection_metrics."""

import sys
import types

import pytest

from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.select import SELECTION_RULES, Selected, get_selector, select, selection_metrics


def make_round():
    problems = [Problem("a", "qa", "1"), Problem("b", "qb", "2"), Problem("c", "qc")]
    rows = [("a", "1", "correct"), ("a", "3", "incorrect"), ("a", "1 again", "correct"),
            ("a", "4", "incorrect"), ("b", "5", "incorrect"), ("b", "6", "incorrect"),
            ("c", "9", "incorrect")]
    samples, scores, counts = [], [], {}
    for pid, text, verdict in rows:
        i = counts[pid] = counts.get(pid, -1) + 1
        s = Sample(pid, text, 1, index=i)
        samples.append(s)
        scores.append(Score(s.id, text.split()[0], verdict, float(verdict == "correct")))
    return problems, samples, scores


def test_registry_names():
    assert set(SELECTION_RULES) == {"correct", "threshold", "majority", "prm_filter", "judge"}


def test_unknown_rule_and_option_suggest_the_nearest_name():
    with pytest.raises(ConfigError, match="did you mean `majority`"):
        select("majorty", *make_round())
    with pytest.raises(ConfigError, match="did you mean `max_per_problem`"):
        select("correct", *make_round(), max_per_probem=2)


def test_user_rule_by_module_path(monkeypatch):
    mod = types.ModuleType("my_rules")

    def make_first(seed=0):
        def first(problems, samples, scores):
            return [Selected(samples[0].problem_id, samples[0].id, problems[0].prompt, samples[0].text,
                             rule="first")]
        return first

    mod.make_first = make_first
    monkeypatch.setitem(sys.modules, "my_rules", mod)
    assert [k.sample_id for k in select("my_rules:make_first", *make_round(), seed=3)] == ["a#0"]
    with pytest.raises(ConfigError, match="has no `nope`"):
        get_selector("my_rules:nope")  # the module imports; its attribute does not exist


def test_selection_metrics_of_the_correct_rule():
    problems, samples, scores = make_round()
    kept = select("correct", problems, samples, scores)
    m = selection_metrics(problems, samples, scores, kept)
    assert m["kept"] == 2 and m["problems"] == 1
    assert m["coverage"] == pytest.approx(1 / 3)
    assert m["precision"] == 1.0 and m["recall"] == 1.0 and m["f1"] == 1.0
    # a: 2 distinct correct kept of 2 -> min(2/4, 1) * 1 = 0.5; b: nothing kept -> 0 (c has no gold)
    assert m["balance"] == pytest.approx(0.25)
    assert m["label_accuracy"] is None


def test_selection_metrics_of_majority_and_of_records_read_back():
    problems, samples, scores = make_round()
    kept = select("majority", problems, samples, scores, dedupe=False)
    m = selection_metrics(problems, samples, scores, kept)
    assert m["precision"] == pytest.approx(2 / 3)  # a: two right "1"s; b: "5" wrong
    assert m["label_accuracy"] == pytest.approx(0.5)  # a right, b wrong, c unknown
    as_dicts = [{"problem_id": k.problem_id, "sample_id": k.sample_id, "messages": []} for k in kept]
    m2 = selection_metrics(problems, samples, scores, as_dicts)
    assert m2["precision"] == m["precision"] and m2["label_accuracy"] is None
    empty = selection_metrics(problems, samples, scores, [])
    assert empty["kept"] == 0 and empty["precision"] is None and empty["balance"] == 0.0
