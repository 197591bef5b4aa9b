"""Monte-Carlo step labels: a scripted model whose continuations succeed only from right prefixes, and a
tiny random model on the hf and fast backends (determinism, shared prefill vs re-prefill)."""

import pytest

from _inference_fakes import ExactTask, ScriptedGenerator
from selftaught.core.errors import ConfigError, DataError
from selftaught.core.records import Problem, Sample
from selftaught.metrics.step_labels import step_label_agreement
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from selftaught.scoring.mc_labels import MCSettings, check_step_labels, mc_step_labels

EXPR = {"metadata": {"expression": "4 - 1 - 7 + 2 + 5 + 1"}}  # partial sums 3, -4, -2, 3, 4
RIGHT = ["4 - 1 = 3", "3 - 7 = -4", "-4 + 2 = -2", "-2 + 5 = 3", "3 + 1 = 4"]
SLIP = ["4 - 1 = 3", "3 - 7 = -4", "-4 + 2 = -3", "-3 + 5 = 2", "2 + 1 = 3", "Answer: 3"]  # first error: step 2


class SumTask(ExactTask):
    name = "chain_sum"  # the exact truth of +/- sums applies


def problem():
    return Problem("p", [{"role": "user", "content": "4 - 1 - 7 + 2 + 5 + 1 ="}], "4", EXPR)


def oracle_model(prompt, pid, j, params):
    """Finishes right from a prefix without the slip, wrong after it; every even draw fails anyway."""
    prefix = prompt[-1]["content"] if prompt[-1]["role"] == "assistant" else ""
    return "Answer: 0" if "= -3" in prefix or j % 2 == 0 else "Answer: 4"


def test_labels_from_prefix_continuations_and_first_error():
    gen = ScriptedGenerator(oracle_model)
    sample = Sample("p", "\n".join(SLIP), 10)
    [rec] = mc_step_labels(gen, SumTask({"p": "4"}), [problem()], [sample], MCSettings(k=4), truth=True)
    assert rec["completions"] == SLIP and rec["labels"] == [True, True, False, False, False, False]
    assert rec["soft_labels"][:3] == [0.5, 0.5, 0.0] and rec["first_error"] == 2
    assert rec["truth"] == [True, True, False, False, False, False] and rec["truth_first_error"] == 2
    assert len(gen.calls) == 1 and gen.calls[0]["n"] == 4  # every prefix in one call, k samples each
    assert gen.calls[0]["prompts"][0][-1] == {"role": "assistant", "content": "4 - 1 = 3\n"}
    assert len(gen.calls[0]["prompts"]) == len(SLIP) - 1  # the last step is the solution's own verdict
    assert rec["mc_tokens"] == (len(SLIP) - 1) * 4 * 2  # every continuation ("Answer: 4") is charged, 2 tokens


def test_unfinished_solution_continues_its_last_step():
    gen = ScriptedGenerator(oracle_model)
    cut = Sample("p", "\n".join(RIGHT[:2]), 10, finish_reason="length")
    [rec] = mc_step_labels(gen, SumTask({"p": "4"}), [problem()], [cut], MCSettings(k=4), truth=True)
    assert rec["verdict"] == "unparsed" and rec["labels"] == [True, True] and rec["soft_labels"] == [0.5, 0.5]
    [binary] = mc_step_labels(gen, SumTask({"p": "4"}), [problem()], [cut], MCSettings(k=4, search="binary"))
    assert binary["first_error"] is None and binary["labels"] == [True, True]


def test_binary_search_finds_the_first_error_with_fewer_prefixes():
    gen = ScriptedGenerator(oracle_model)
    slip = Sample("p", "\n".join(SLIP), 10)
    right = Sample("p", "\n".join(RIGHT + ["Answer: 4"]), 10, index=1)
    recs = mc_step_labels(gen, SumTask({"p": "4"}), [problem()], [slip, right], MCSettings(k=4, search="binary"))
    assert recs[0]["first_error"] == 2 and recs[0]["labels"] == [True, True, False]
    assert recs[0]["completions"] == SLIP[:3]
    probed = sum(len(c["prompts"]) for c in gen.calls)
    assert recs[0]["mc_tokens"] == probed * 4 * 2 and recs[1]["mc_tokens"] == 0  # a correct one is not searched
    assert recs[1]["labels"] == [True] * 6 and recs[1]["first_error"] is None  # correct: not searched
    assert sum(len(c["prompts"]) for c in gen.calls) < len(SLIP) - 1


def test_agreement_metrics_on_the_scripted_labels():
    gen = ScriptedGenerator(oracle_model)
    recs = mc_step_labels(gen, SumTask({"p": "4"}), [problem()], [Sample("p", "\n".join(SLIP), 10)],
                          MCSettings(k=4), truth=True)
    out = step_label_agreement(recs)
    assert [row["k"] for row in out["by_k"]] == [1, 2, 4]
    k1, k4 = out["by_k"][0], out["by_k"][-1]
    assert k4["hard_accuracy"] == 1.0 and k4["first_binary_exact"] == 1.0
    assert k1["hard_accuracy"] < 1.0  # the first draw of every prefix fails: step 0 and 1 look wrong at k=1


def test_append_step_labels_adds_lines(tmp_path):
    from selftaught.core.io import read_jsonl
    from selftaught.scoring.mc_labels import append_step_labels

    path = tmp_path / "r" / "step_labels.jsonl"
    append_step_labels(path, [{"completions": ["a"], "labels": [True]}])
    append_step_labels(path, [{"completions": ["b"], "labels": [False]}])
    assert [r["completions"] for r in read_jsonl(path)] == [["a"], ["b"]]


def test_bad_input_before_any_model():
    task = SumTask({"p": "4"})
    with pytest.raises(DataError, match="gold answers"):
        check_step_labels(task, [Problem("q", "x", None)])
    with pytest.raises(ConfigError, match="span several lines"):
        check_step_labels(task, [Problem("q", "x", "1\n2")])
    with pytest.raises(ConfigError, match="no exact per-step truth"):
        check_step_labels(ExactTask({}), [problem()], truth=True)
    with pytest.raises(ConfigError, match="search"):
        mc_step_labels(ScriptedGenerator(oracle_model), task, [problem()], [], MCSettings(search="beam"))


def tiny_setup(backend, tiny):
    model, tok = tiny
    gen = FastGenerator(model, tok, max_batch=16) if backend == "fast" else HFGenerator(model, tok, batch_size=16)
    sample = Sample("p", "\n".join(SLIP), 10)
    return gen, sample


@pytest.mark.parametrize("backend", ["hf", "fast"])
def test_tiny_model_deterministic_and_shared_equals_reprefill_when_greedy(backend, tiny_model_and_tokenizer):
    gen, sample = tiny_setup(backend, tiny_model_and_tokenizer)
    task = SumTask({"p": "4"})
    sampled = MCSettings(k=3, max_new_tokens=6, seed=5)
    a = mc_step_labels(gen, task, [problem()], [sample], sampled)
    b = mc_step_labels(gen, task, [problem()], [sample], sampled)
    assert a == b  # same seed, same labels
    assert [len(row) for row in a[0]["mc_correct"]] == [3] * 5 + [1]
    greedy = MCSettings(k=3, max_new_tokens=6, temperature=0.0)
    shared = mc_step_labels(gen, task, [problem()], [sample], greedy)
    again = mc_step_labels(gen, task, [problem()], [sample], MCSettings(**{**greedy.__dict__, "reprefill": True}))
    assert shared == again
    rep = mc_step_labels(gen, task, [problem()], [sample], MCSettings(**{**sampled.__dict__, "reprefill": True}))
    assert [len(r) for r in rep[0]["mc_correct"]] == [len(r) for r in a[0]["mc_correct"]]


def test_fast_continuation_matches_hf_greedy(tiny_model_and_tokenizer):
    """The assistant-prefix prompt reaches both backends as the same tokens: same greedy continuation."""
    from selftaught.core.records import SamplingParams
    from selftaught.tasks.steps import continuation_prompt

    model, tok = tiny_model_and_tokenizer
    prompt = continuation_prompt(problem().prompt, "4 - 1 = 3\n")
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    hf = HFGenerator(model, tok).generate([prompt], params)[0][0].text
    fast = FastGenerator(model, tok, max_batch=4).generate([prompt], params)[0][0].text
    assert hf == fast
