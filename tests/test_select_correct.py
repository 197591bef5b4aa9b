"""Rule `correct` (RFT): verified-correct samples, deduplicated and capped reproducibly."""

import pytest

from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.select import Selected, make_correct, select, to_sft_record


def make_round(rows):
    """rows: {problem_id: [(text, extracted, verdict), ...]} -> problems, samples, scores."""
    problems = [Problem(pid, f"question {pid}?", "4") for pid in rows]
    samples, scores = [], []
    for pid, items in rows.items():
        for i, (text, ext, verdict) in enumerate(items):
            s = Sample(pid, text, n_tokens=len(text.split()), index=i)
            samples.append(s)
            scores.append(Score(s.id, ext, verdict, 1.0 if verdict == "correct" else 0.0))
    return problems, samples, scores


ROWS = {
    "p1": [("so 4", "4", "correct"), ("so  4", "4", "correct"), ("so 5", "5", "incorrect"),
           ("hmm", None, "unparsed"), ("thus 4", "4", "correct")],
    "p2": [("7", "7", "incorrect")],
    "p3": [],
}


def test_keeps_only_correct_and_dedupes_whitespace_variants():
    kept = select("correct", *make_round(ROWS))
    assert [k.sample_id for k in kept] == ["p1#0", "p1#4"]
    assert all(isinstance(k, Selected) and k.rule == "correct" for k in kept)
    assert kept[0].prompt == "question p1?" and kept[0].completion == "so 4"
    assert kept[0].label == "4" and kept[0].label_source == "gold" and kept[0].score == 1.0


def test_without_dedupe_keeps_every_correct_sample():
    kept = select("correct", *make_round(ROWS), dedupe=False)
    assert [k.sample_id for k in kept] == ["p1#0", "p1#1", "p1#4"]


def test_max_per_problem_is_reproducible_and_seed_dependent():
    rows = {"p": [(f"answer {i} so 4", "4", "correct") for i in range(10)]}
    runs = {seed: [k.sample_id for k in select("correct", *make_round(rows), max_per_problem=3,
                                               seed=seed)] for seed in range(6)}
    assert all(len(ids) == 3 for ids in runs.values())
    assert runs[0] == [k.sample_id for k in select("correct", *make_round(rows), max_per_problem=3, seed=0)]
    assert len({tuple(ids) for ids in runs.values()}) > 1  # different seeds, different subsets
    for ids in runs.values():  # original sample order is kept
        assert ids == sorted(ids, key=lambda x: int(x.split("#")[1]))


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError):
        make_correct(max_per_problem=0)
    with pytest.raises(ConfigError):
        make_correct(dedupe="yes")


def test_sft_record_for_text_and_chat_prompts():
    problems, samples, scores = make_round(ROWS)
    kept = select("correct", problems, samples, scores)
    assert to_sft_record(kept[0]) == {"messages": [
        {"role": "user", "content": "question p1?"}, {"role": "assistant", "content": "so 4"}]}
    chat = [{"role": "system", "content": "Think."}, {"role": "user", "content": "2+2?"}]
    problems[0].prompt = chat
    rec = to_sft_record(select("correct", problems, samples, scores)[0])
    assert rec["messages"][:2] == chat and rec["messages"][2]["role"] == "assistant"
    assert chat[1] == {"role": "user", "content": "2+2?"}  # the problem's prompt is not mutated
