"""OpenAIGenerator against a real OpenAI-compatible server: `transformers serve` (transformers' own
FastAPI server; its packages come with `transformers[serving]`, in the dev extra) serving the tiny
random Llama on CPU at 127.0.0.1. It starts in about 10-20 s on 2 CPU cores; the module starts it
three times (about a minute in all).

That server ignores `n` and `logprobs` (it answers with one choice and no log-probs), so these tests
also cover asking again for the missing samples and leaving `logprob` empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

for _pkg in ("fastapi", "uvicorn", "openai"):
    pytest.importorskip(_pkg, reason='transformers serve needs "transformers[serving]" (pip install -e ".[dev]")')

from conftest import make_tiny_llama  # noqa: E402
from selftaught.core.config import load_config  # noqa: E402
from selftaught.core.errors import SelftaughtError  # noqa: E402
from selftaught.core.records import SamplingParams  # noqa: E402
from selftaught.loop.rounds import run_loop  # noqa: E402
from selftaught.models import HFGenerator, load_model  # noqa: E402
from selftaught.models.openai_backend import OpenAIGenerator, wait_ready  # noqa: E402
from test_openai_backend import free_port  # noqa: E402

START_TIMEOUT_S = 180
CHAT = [{"role": "user", "content": "q12"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(model folder, base URL) of a `transformers serve` process, stopped after the module's tests."""
    root = tmp_path_factory.mktemp("served")
    path = make_tiny_llama(root / "tiny")
    url = f"http://127.0.0.1:{free_port()}/v1"
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "transformers.cli.transformers", "serve", path, "--host", "127.0.0.1",
           "--port", url.split(":")[2].split("/")[0], "--device", "cpu"]
    log_path = root / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        _wait_started(proc, url, log_path)
        yield path, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _wait_started(proc, url, log_path) -> None:
    start = time.monotonic()
    while time.monotonic() - start < START_TIMEOUT_S:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            wait_ready([url], timeout=1.0, interval=0.25)
            print(f"transformers serve ready after {time.monotonic() - start:.1f}s")
            return
        except SelftaughtError:
            continue
    pytest.fail(f"transformers serve not ready after {START_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}")


def generator(server, **kw):
    path, url = server
    return OpenAIGenerator([url], path, timeout=120, max_retries=2, backoff=0.2, max_concurrency=4, **kw)


def test_chat_samples_n_per_prompt(server):
    params = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=8, seed=3)
    out = generator(server).generate([CHAT, [{"role": "user", "content": "q7"}]], params, n=3,
                                     problem_ids=["a", "b"])
    assert [[s.index for s in g] for g in out] == [[0, 1, 2], [0, 1, 2]]
    assert [g[0].problem_id for g in out] == ["a", "b"]
    for s in (s for g in out for s in g):
        assert isinstance(s.text, str) and 1 <= s.n_tokens <= 8 and s.finish_reason in ("stop", "length")
        assert s.logprob is None or s.logprob <= 0  # this server returns no log-probs today
        assert s.params["temperature"] == 1.0 and s.params["seed"] == 3


def test_greedy_matches_the_hf_backend(server):
    path, _ = server
    model, tok = load_model(path, device="cpu", dtype="float32")
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    local = HFGenerator(model, tok).generate([CHAT], params)[0][0]
    served = generator(server).generate([CHAT], params, n=2)[0]
    assert [s.text for s in served] == [local.text, local.text]
    assert served[0].n_tokens == local.n_tokens and served[0].finish_reason == local.finish_reason


def test_plain_text_prompt(server):
    out = generator(server).generate(["12+3="], SamplingParams(temperature=0.0, max_new_tokens=4), n=1)
    assert out[0][0].n_tokens >= 1 and isinstance(out[0][0].text, str)


def test_wrong_model_name_is_a_clear_error(server):
    _, url = server
    with pytest.raises(SelftaughtError, match=r"HTTP 400.*pinned"):
        OpenAIGenerator([url], "not-the-served-model", max_retries=0).generate([CHAT], SamplingParams(max_new_tokens=2))


def test_a_loop_round_on_the_real_server(server, tmp_path):
    path, url = server
    cfg = load_config(None, [
        "task.callable=loop_task:make_task", f"model={path}", "device=cpu", "task.n_train=4", "task.n_eval=3",
        "sampling.n=2", "sampling.max_new_tokens=6", "eval.max_new_tokens=6", "sampling.temperature=1.0",
        "train.epochs=1", "train.batch_size=4", "loop.rounds=1", "server.follows_checkpoints=true", "backend=openai", f"server.base_urls=[{url}]",
        "server.timeout_s=120", "server.max_concurrency=4"])
    rows = run_loop(cfg, str(tmp_path / "run"))
    assert [r["round"] for r in rows] == [0, 1] and rows[1]["eval/n"] == 3
    samples = (tmp_path / "run" / "rounds" / "001" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 4 * 2


RESTART_SCRIPT = """#!/bin/sh
# Serve checkpoint $1: stop the running server, point `current` at $1, start a new server on it.
set -e
cd "$(dirname "$0")"
if [ -f server.pid ]; then
  old=$(cat server.pid); kill "$old" 2>/dev/null || true
  while kill -0 "$old" 2>/dev/null; do sleep 0.2; done
fi
ln -sfn "$1" current
OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nohup "{python}" -m transformers.cli.transformers serve "$PWD/current" \\
  --host 127.0.0.1 --port {port} --device cpu >server.log 2>&1 &
echo $! > server.pid
"""


def test_reload_command_restarts_the_server_on_each_checkpoint(tmp_path):
    """reload_server with a restart script (a fixed served path, like vLLM's --served-model-name)."""
    from selftaught.core.config import Config
    from selftaught.models.openai_backend import reload_server

    port = free_port()
    script = tmp_path / "restart.sh"
    script.write_text(RESTART_SCRIPT.replace("{python}", sys.executable).replace("{port}", str(port)))
    script.chmod(0o755)
    cfg = Config(task={"name": "basic_arithmetic"}, server={
        "base_urls": [f"http://127.0.0.1:{port}/v1"], "model": str(tmp_path / "current"),
        "reload_command": f"{script} {{checkpoint}}", "reload_timeout_s": START_TIMEOUT_S})
    params, served = SamplingParams(temperature=0.0, max_new_tokens=8), []
    try:
        for seed in (1, 2):
            path = make_tiny_llama(tmp_path / f"round{seed}", seed=seed)
            assert reload_server(cfg, path)
            model, tok = load_model(path, device="cpu", dtype="float32")
            want = HFGenerator(model, tok).generate([CHAT], params)[0][0].text
            got = generator((cfg.server.model, cfg.server.base_urls[0])).generate([CHAT], params)[0][0].text
            assert got == want, f"the server does not serve {path}"
            served.append(got)
        assert served[0] != served[1]  # the two checkpoints answer differently, so the check above means something
    finally:
        pid_file = tmp_path / "server.pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
