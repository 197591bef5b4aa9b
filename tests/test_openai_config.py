"""The `server` config section, the backend registry entries (openai, vllm, fast) and reload_server."""

from __future__ import annotations

import sys

import pytest

from selftaught.core.config import Config, load_config
from selftaught.core.errors import ConfigError, SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.models import build_generator
from selftaught.models.openai_backend import OpenAIGenerator, reload_server, served_model_name
from test_openai_backend import ok, serve  # noqa: F401  (serve: the fake-server fixture)


def cfg(*sets):
    return load_config(None, ["task.name=basic_arithmetic", *sets])


def test_server_section_and_backend_name():
    c = cfg("backend=openai", "server.base_urls=[http://a:1/v1, https://b/v1]", "server.max_concurrency=4")
    assert c.backend == "openai" and c.server.base_urls == ["http://a:1/v1", "https://b/v1"]
    with pytest.raises(ConfigError, match=r"`backend`: unknown backend `openia` \(did you mean `openai`\?\)"):
        cfg("backend=openia")
    with pytest.raises(ConfigError, match=r"unknown key `server.timeout`. Did you mean `server.timeout_s`"):
        cfg("server.timeout=3")
    with pytest.raises(ConfigError, match="http:// or https://"):
        cfg("server.base_urls=[localhost:8000/v1]")


def test_every_server_field_has_a_description():
    fields = Config.model_fields["server"].annotation.model_fields
    assert all(f.description for f in fields.values())


def test_openai_factory_from_config():
    g = build_generator(cfg("backend=openai", "server.base_urls=[http://127.0.0.1:9/v1/]", "server.timeout_s=7",
                            "server.use_n=false", "server.api_key_env=X_KEY"), tokenizer="tok")
    assert isinstance(g, OpenAIGenerator) and g.base_urls == ["http://127.0.0.1:9/v1"] and g.timeout == 7
    assert g.model == "HuggingFaceTB/SmolLM2-135M-Instruct" and not g.use_n and g.tokenizer == "tok"
    assert served_model_name(cfg("model=org/m")) == "org/m"
    assert served_model_name(cfg("model=org/m", "server.model=policy")) == "policy"


def test_fast_backend_is_registered(tiny_model_and_tokenizer):
    from selftaught.models.fast import FastGenerator

    model, tok = tiny_model_and_tokenizer
    g = build_generator(cfg("backend=fast", "sampling.batch_size=5"), model, tok)
    assert isinstance(g, FastGenerator) and g.max_batch == 5
    out = g.generate([[{"role": "user", "content": "hi"}]], SamplingParams(0.0, 1.0, 3), n=2)
    assert len(out[0]) == 2 and out[0][0].text == out[0][1].text


def test_vllm_backend_without_vllm_says_how_to_install():
    if _has_vllm():
        pytest.skip("vllm is installed here")
    with pytest.raises(SelftaughtError, match=r'pip install "selftaught\[vllm\]"'):
        build_generator(cfg("backend=vllm"), "/some/checkpoint")


def _has_vllm() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def server_cfg(**server):
    return Config(task={"name": "basic_arithmetic"}, server=server)


def test_reload_server_runs_the_command_then_waits(serve, tmp_path):
    srv = serve(ok)
    out, script = tmp_path / "got.txt", tmp_path / "reload.py"
    script.write_text("import os, sys\n"
                      "open(sys.argv[1], 'w').write(sys.argv[2] + '|' + os.environ['SELFTAUGHT_CHECKPOINT'])\n")
    c = server_cfg(base_urls=[srv.url], reload_command=f"{sys.executable} {script} {out} {{checkpoint}}",
                   reload_timeout_s=20)
    checkpoint = str(tmp_path / "round 3" / "checkpoint")
    assert reload_server(c, checkpoint)
    assert out.read_text() == f"{checkpoint}|{checkpoint}"  # quoted: the space survives
    assert reload_server(cfg(), "x") is False  # no command: nothing to do


def test_reload_server_failures(serve):
    srv = serve(ok)
    with pytest.raises(SelftaughtError, match="reload_command exited with status 3 for checkpoint /ck"):
        reload_server(server_cfg(base_urls=[srv.url], reload_command="exit 3"), "/ck")
    with pytest.raises(SelftaughtError, match="did not finish in 0.3s"):
        reload_server(server_cfg(base_urls=[srv.url], reload_command="sleep 5", reload_timeout_s=0.3), "/ck")
