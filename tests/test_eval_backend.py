"""`selftaught eval` builds its generator from the recipe's backend: with `backend: openai` the answers
come from the (fake) server and no model weights are loaded locally."""

import json

import pytest
import typer
from typer.testing import CliRunner

from selftaught.cli.eval_cmd import eval_command
from test_openai_backend import serve  # noqa: F401  (serve: the fake-server fixture)


def _app():
    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the `eval` subcommand name
    return app


def _reply(path, body, count):
    choices = [{"index": i, "message": {"role": "assistant", "content": "It is four.\nAnswer: 4"},
                "finish_reason": "stop"} for i in range(body.get("n", 1))]
    return 200, {"choices": choices, "usage": {"completion_tokens": 6 * len(choices)}}, 0, {}


@pytest.fixture
def no_local_weights(monkeypatch):
    """Any attempt to load model weights in this process fails the test."""
    import transformers

    import selftaught.models as models
    import selftaught.models.resolve as resolve

    def refuse(*args, **kwargs):
        raise AssertionError("model weights loaded locally")

    monkeypatch.setattr(models, "load_model", refuse)
    monkeypatch.setattr(resolve, "load_model", refuse)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)


def test_eval_with_backend_openai_answers_through_the_server(serve, tiny_path, tmp_path, no_local_weights):
    srv = serve(_reply)
    data = tmp_path / "q.jsonl"
    data.write_text("".join(f'{{"question": "What is 2 + 2? ({i})", "answer": "4"}}\n' for i in range(40)))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: served\nmodel: {tiny_path}\nbackend: openai\nserver: {{base_urls: ['{srv.url}'], "
                      f"max_retries: 0}}\ntask: {{path: {data}, few_shot: 0}}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), ["eval", str(recipe), "--strategy", "greedy", "--strategy",
                                         "self_consistency", "--set", "n=3", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = {m["label"]: m for m in json.loads((out / "summary.json").read_text())}
    assert summary["greedy"]["accuracy"] == 1.0 and summary["self_consistency"]["accuracy"] == 1.0
    assert summary["greedy"]["generation"] == {"backend": "openai", "server": srv.url, "served_model": tiny_path}
    bodies = [body for _, body, _ in srv.requests]
    assert {b["model"] for b in bodies} == {tiny_path}  # the recipe's model, as the served name
    assert sorted(b.get("n", 1) for b in bodies) == [1, 1, 1, 3, 3, 3]  # 3 greedy answers, 3 prompts x 3 samples
    traces = [json.loads(line) for line in (out / "greedy" / "traces.jsonl").read_text().splitlines()]
    assert [t["final_text"] for t in traces] == ["It is four.\nAnswer: 4"] * 3
