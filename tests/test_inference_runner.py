"""Every strategy end to end on the tiny random Llama: plumbing, trace files, metrics, plot, eval_main."""

import json

import pytest

from selftaught.core.errors import ConfigError
from selftaught.inference import STRATEGIES, Context, build_strategy
from selftaught.inference.runner import eval_main, evaluate_strategy, write_comparison

from _inference_fakes import ExactTask

SMALL = {"max_new_tokens": 6}
SAMPLED = {**SMALL, "n": 3}
CONFIGS = {
    "greedy": SMALL, "sample": SAMPLED, "self_consistency": SAMPLED,
    "weighted_vote": {**SAMPLED, "scorer": "self_certainty"}, "best_of_n": {**SAMPLED, "scorer": "judge"},
    "self_refine": {**SMALL, "rounds": 1}, "gated_refine": {**SAMPLED, "rounds": 1, "threshold": 1.0},
    "adaptive_consistency": {**SMALL, "batch": 2, "max_samples": 4},
    "prm_best_of_n": SAMPLED, "prm_vote": SAMPLED,
    "beam_search": {**SMALL, "n": 4, "beam_width": 2, "max_steps": 2},
    "dvts": {**SMALL, "n": 4, "beam_width": 2, "max_steps": 2},
}


@pytest.fixture
def generator(tiny_model_and_tokenizer):
    from selftaught.models import HFGenerator

    model, tok = tiny_model_and_tokenizer
    return HFGenerator(model, tok, batch_size=16)


def test_every_strategy_runs_and_writes_its_trace(generator, tmp_path):
    assert set(CONFIGS) == set(STRATEGIES)
    task = ExactTask({"p0": "1", "p1": "2"})
    problems = task.problems("eval", 2, 0)
    ctx = Context(task, generator)
    all_metrics = []
    for name, options in CONFIGS.items():
        m = evaluate_strategy(task, generator, problems, build_strategy(name, options), tmp_path, ctx=ctx)
        all_metrics.append(m)
        rows = [json.loads(line) for line in (tmp_path / name / "traces.jsonl").read_text().splitlines()]
        assert [r["problem_id"] for r in rows] == ["p0", "p1"]
        for r in rows:
            assert r["tokens"] == sum(e.get("n_tokens", 0) for e in r["trace"]), name
            assert r["confidence"] is None or 0.0 <= r["confidence"] <= 1.0
            assert r["verdict"] in ("correct", "incorrect", "unparsed")
        assert m["n"] == 2 and 0.0 <= m["accuracy"] <= 1.0 and m["tokens/problem"] > 0
        assert json.loads((tmp_path / name / "metrics.json").read_text())["label"] == name
    by = {m["label"]: m for m in all_metrics}
    assert "pass@2" in by["sample"] and "transitions" in by["self_refine"] and "samples_used" in by["adaptive_consistency"]
    assert by["gated_refine"]["refined"] == 1.0        # threshold 1.0 refines every problem
    assert by["self_refine"]["tokens/problem"] > by["greedy"]["tokens/problem"]
    plot = write_comparison(all_metrics, tmp_path)
    assert plot.exists() and plot.stat().st_size > 0


def test_eval_main_on_a_gym_task(generator, tmp_path):
    task_cfg = {"name": "basic_arithmetic", "options": {"min_terms": 2, "max_terms": 2, "max_digits": 1}, "few_shot": 0}
    out = eval_main(task_cfg, "unused", ["greedy", "self_consistency"], ["n=2", "max_new_tokens=4"], tmp_path,
                    n_problems=2, generator=generator)
    assert [m["label"] for m in out] == ["greedy", "self_consistency"]
    assert out[1]["config"]["n"] == 2 and out[0]["config"]["max_new_tokens"] == 4
    assert (tmp_path / "summary.json").exists() and (tmp_path / "accuracy_vs_tokens.png").exists()


def test_eval_main_validates_before_loading(tmp_path):
    with pytest.raises(ConfigError, match="did you mean `self_consistency`"):
        eval_main({"name": "basic_arithmetic"}, "no-such-model", "self_consistancy", [], tmp_path)
    with pytest.raises(ConfigError, match="scorer"):
        eval_main({"name": "basic_arithmetic"}, "no-such-model", "best_of_n", ["scorer=oracel"], tmp_path)
