"""Failure memory (history, slope, failing, per-arm rates, resume from rows), budget allocation, the band,
and problems made near failing reasoning-gym items at the item's own parameters."""

import pytest

from selftaught.core.records import Problem, Sample, Score
from selftaught.curriculum.failures import (
    FailureMemory,
    allocate,
    arm_of,
    generating_params,
)
from selftaught.curriculum.synth import (
    gym_near,
    in_band,
    near_generator,
    plan_candidates,
)
from selftaught.tasks.gym import ReasoningGymTask, split_of


def outcome(pid, correct, n=4):
    samples = [Sample(pid, "x", 1, index=j) for j in range(n)]
    scores = [Score(f"{pid}#{j}", "1", "correct" if j < correct else "incorrect", float(j < correct))
              for j in range(n)]
    return samples, scores


def fold(memory, index, results):
    problems = [Problem(pid, "q", "1", {"task": "t", "arm": arm}) for pid, arm, _ in results]
    samples, scores = [], []
    for pid, _, correct in results:
        s, c = outcome(pid, correct)
        samples += s
        scores += c
    memory.update(index, problems, samples, scores, "t")


def test_history_slope_and_failing_across_rounds():
    memory = FailureMemory(fail_below=0.5)
    fold(memory, 1, [("p", "a", 0), ("q", "a", 1), ("r", "b", 4)])
    fold(memory, 2, [("p", "a", 0), ("q", "a", 2)])
    fold(memory, 3, [("p", "a", 0), ("q", "a", 1)])
    p, q, r = (memory.rows[k] for k in "pqr")
    assert [h["accuracy"] for h in p["history"]] == [0.0, 0.0, 0.0] and p["slope"] == 0.0 and p["failing"]
    assert [h["accuracy"] for h in q["history"]] == [0.25, 0.5, 0.25] and q["slope"] == 0.0 and q["failing"]
    assert r["history"] == [{"round": 1, "accuracy": 1.0, "samples": 4}] and not r["failing"]
    fold(memory, 4, [("q", "a", 1)])  # 0.25, 0.5, 0.25, 0.25: slope < 0, still failing
    assert memory.rows["q"]["slope"] < 0 and memory.rows["q"]["failing"]
    fold(memory, 5, [("p", "a", 1)])  # 0, 0, 0, 0.25: rising, so not failing although below fail_below
    assert memory.rows["p"]["slope"] > 0 and not memory.rows["p"]["failing"]
    again = FailureMemory(memory.to_rows(), 0.5)  # what a resume reads back from failures.jsonl
    fold(again, 5, [("p", "a", 1)])  # a round already there is replaced, not counted twice
    assert again.to_rows() == memory.to_rows()


def test_failure_rates_and_budget_in_proportion():
    memory = FailureMemory()
    fold(memory, 1, [("a1", "a", 0), ("a2", "a", 0), ("a3", "a", 0), ("a4", "a", 4),
                     ("b1", "b", 0), ("b2", "b", 4), ("b3", "b", 4), ("b4", "b", 4), ("c1", "c", 4)])
    ids = list(memory.rows)
    assert memory.failure_rates(ids) == {"a": 0.75, "b": 0.25, "c": 0.0}
    budgets, plan = plan_candidates(memory, ids, 8, 1.5)
    assert budgets == {"a": 6, "b": 2, "c": 0}
    assert [(row["id"], n) for row, n in plan] == [("a1", 3), ("a2", 3), ("a3", 3), ("b1", 3)]
    assert allocate(7, {"x": 1.0, "y": 1.0}) == {"x": 4, "y": 3} and sum(allocate(16, {"x": 0.3, "y": 0.2}).values()) == 16


def test_band_filter_edges():
    band = (0.125, 0.875)
    assert [in_band(c, 4, band) for c in range(5)] == [False, True, True, True, False]
    assert in_band(1, 8, band) and in_band(7, 8, band) and not in_band(0, 0, band)


def test_arm_of_prefers_the_curriculum_arm():
    assert arm_of(Problem("p", "q", None, {"arm": "gcd@L1", "task": "gcd", "level": 3}), "x") == "gcd@L1"
    assert arm_of(Problem("p", "q", None, {"task": "gcd", "level": 3}), "x") == "gcd@L3"


@pytest.fixture(scope="module")
def arithmetic():
    return ReasoningGymTask("basic_arithmetic", {"min_terms": 2, "max_terms": 5, "min_digits": 1, "max_digits": 2},
                            few_shot=1)


def test_gym_items_near_a_failing_item_keep_its_parameters(arithmetic):
    failing = next(p for p in arithmetic.problems("train", 20, seed=3) if p.meta["metadata"]["num_terms"] >= 3)
    params = generating_params(failing.meta)
    assert {"dataset_seed", "index", "num_terms", "num_digits"} <= set(params)
    near = gym_near(arithmetic, failing, 6, seed=11)
    assert len(near) == 6 and len({p.meta["question"] for p in near}) == 6
    for p in near:
        meta = p.meta["metadata"]
        assert (meta["num_terms"], meta["num_digits"]) == (params["num_terms"], params["num_digits"])
        assert split_of(p.meta["question"]) == "train" and p.meta["question"] != failing.meta["question"]
        assert arithmetic.score(p, f"Answer: {p.answer}").verdict == "correct"
        assert arithmetic.score(p, f"Answer: {int(p.answer) + 1}").verdict == "incorrect"
        assert p.meta["synth"]["from"] == failing.id and p.prompt[-1]["content"].endswith(p.meta["question"])
    assert [p.id for p in gym_near(arithmetic, failing, 6, seed=11)] == [p.id for p in near]  # deterministic
    assert {p.meta["question"] for p in gym_near(arithmetic, failing, 6, seed=12)} != {p.meta["question"] for p in near}


def test_near_generator_picks_the_source(arithmetic):
    assert near_generator(arithmetic, {"task": "basic_arithmetic"}) is not None

    class Plain:
        name = "plain"

    class Own(Plain):
        def near(self, problem, n, seed):
            return []

    assert near_generator(Plain(), {"task": "plain"}) is None
    own = Own()
    assert near_generator(own, {"task": "plain"}) == own.near

    class Mixture:
        name = "mix"
        sources = {"x": Plain(), "y": arithmetic}

    assert near_generator(Mixture(), {"task": "basic_arithmetic"}) is not None
    assert near_generator(Mixture(), {"task": "plain"}) is None
