"""`backend: openai` in the round loop, against a local fake server: a round whose sampling fails
mid-way raises a clear error and leaves no samples.jsonl; rerunning once the server is back resumes."""

from __future__ import annotations

import pytest

from conftest import make_tiny_llama
from selftaught.core.config import load_config
from selftaught.core.errors import SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from test_openai_backend import chat_reply, serve  # noqa: F401  (serve: the fake-server fixture)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny"))


def config(tiny_path, url):
    return load_config(None, [
        "task.callable=loop_task:make_task", f"model={tiny_path}", "device=cpu", "task.n_train=6",
        "task.n_eval=4", "sampling.n=3", "sampling.max_new_tokens=6", "eval.max_new_tokens=6",
        "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=4", "loop.rounds=1", "server.follows_checkpoints=true",
        "backend=openai", f"server.base_urls=[{url}]", "server.max_retries=1", "server.backoff_s=0.01",
        "server.max_concurrency=2", "server.timeout_s=10"])


def test_round_failing_mid_way_leaves_no_samples_file(serve, tiny_path, tmp_path):
    state = {"down": False}

    def reply(path, body, count):
        if count > 7 and state["down"] is False:  # round 0's 4 eval requests, then 3 of round 1's 6
            return 500, {"error": {"message": "engine crashed"}}, 0, {}
        return 200, chat_reply(body, text="ab", logprobs=None), 0, {}

    srv = serve(reply)
    run_dir = tmp_path / "run"
    with pytest.raises(SelftaughtError, match="HTTP 500: engine crashed"):
        run_loop(config(tiny_path, srv.url), str(run_dir))
    run = RunDir(run_dir)
    assert run.finished_rounds() == [0] and run.has(0, "eval_samples.jsonl")
    assert not run.has(1, "samples.jsonl") and not run.has(1, "scores.jsonl")
    assert all(b["model"] == tiny_path for _, b, _ in srv.requests)

    state["down"] = None  # the server is back: the rerun resumes at round 1
    rows = run_loop(config(tiny_path, srv.url), str(run_dir))
    assert [r["round"] for r in rows] == [0, 1] and len(run.read_records(1, "samples.jsonl")) == 18


def test_generation_on_servers_loads_only_the_tokenizer(serve, tiny_path, tmp_path):
    from rich.console import Console

    from selftaught.loop.state import ModelState

    def reply(path, body, count):  # no log-probs, no usage: only a tokenizer can count the tokens
        payload = chat_reply(body, text="a b", logprobs=None)
        payload.pop("usage")
        return 200, payload, 0, {}

    srv = serve(reply)
    state = ModelState(config(tiny_path, srv.url), RunDir(tmp_path / "run"), Console())
    gen = state.generator(0)
    assert state.model is None and state.holds is None  # the weights stay on the server
    [[sample]] = gen.generate([[{"role": "user", "content": "x"}]], SamplingParams(temperature=0.0, max_new_tokens=4))
    counted = len(gen.tokenizer(sample.text, add_special_tokens=False)["input_ids"])
    assert sample.text.startswith("a b") and sample.n_tokens == counted > 0  # counted by the local tokenizer
