"""The verifier corpus: every (completion, truth, verdict) case in tests/data/verifier_cases.jsonl.

Each case goes through the JSONL task's scorer (extraction, then `answer_match` under `auto`); where
an answer was extracted, the vote's grouping must agree with the verdict, so scoring and voting
cannot drift apart. The `why` of a case says what it checks; its first word is its group.
"""

import json
from pathlib import Path

import pytest

from selftaught.core.records import Problem
from selftaught.scoring.equivalence import equivalent, group_answers
from selftaught.tasks.jsonl import JsonlTask

CORPUS = Path(__file__).parent / "data" / "verifier_cases.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    path = tmp_path_factory.mktemp("verifier") / "qa.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": "1"}) + "\n" for i in range(10)))
    return JsonlTask(path, few_shot=0)


def test_the_corpus_is_large_and_covers_every_group():
    assert len(CASES) >= 200
    assert all(set(c) == {"completion", "truth", "verdict", "why"} for c in CASES)
    groups = {c["why"].split(":")[0] for c in CASES}
    assert {"finding", "thousands", "negative", "decimal", "fraction", "percent", "scientific", "latex", "unit",
            "remark", "list", "word", "anagram", "multiple", "completion", "no answer"} <= groups
    verdicts = [c["verdict"] for c in CASES]
    assert min(verdicts.count(v) for v in ("correct", "incorrect", "unparsed")) >= 10


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['why'][:40]}" for i, c in enumerate(CASES)])
def test_scorer_gives_the_expected_verdict(task, case):
    score = task.score(Problem("p", "q", case["truth"]), case["completion"])
    assert score.verdict == case["verdict"], f"{case['why']}: extracted {score.extracted!r}"
    if score.extracted is not None:
        same = case["verdict"] == "correct"
        assert equivalent(case["truth"], score.extracted) == equivalent(score.extracted, case["truth"]) == same
        assert len(group_answers([case["truth"], score.extracted])) == (1 if same else 2)
