"""OpenAIGenerator against small local fake servers (stdlib http.server on 127.0.0.1): request shape,
log-probs, n, spreading, and the bad cases: server down, slow, 500/429 then success, malformed JSON, 4xx,
the API key kept out of errors, and a loop round that fails mid-way leaving no samples.jsonl."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from selftaught.core.errors import SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.models.openai_backend import OpenAIGenerator, wait_ready

CHAT = [{"role": "user", "content": "2+2?"}]
PARAMS = SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=5, seed=7)


def chat_reply(body, text="four", finish="stop", logprobs=(-0.5, -1.5)):
    k = body.get("n", 1)
    choice = lambda i: {"index": i, "message": {"role": "assistant", "content": f"{text}{i}"}, "finish_reason": finish,
                        "logprobs": {"content": [{"token": "t", "logprob": x} for x in logprobs]} if logprobs else None}
    return {"choices": [choice(i) for i in range(k)], "usage": {"completion_tokens": 3 * k}}


class InFlight:
    """Requests being served, counted across every server that shares it, and the most seen at once."""

    def __init__(self):
        self.lock, self.now, self.most = threading.Lock(), 0, 0

    def enter(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self):
        with self.lock:
            self.now -= 1


class FakeServer:
    """An OpenAI-ish server; `reply(path, body, count)` returns (status, payload, delay_s, headers).

    A request counts as in flight (`in_flight`, shareable between servers) from its arrival until just before
    its response is written: inside the span the client waits for it, so the count never exceeds the
    client's own number of requests in flight."""

    def __init__(self, reply, in_flight: InFlight | None = None):
        self.reply, self.requests, self.lock = reply, [], threading.Lock()
        self.in_flight = in_flight or InFlight()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append((self.path, body, dict(self.headers)))
                    count = len(outer.requests)
                outer.in_flight.enter()
                try:
                    status, payload, delay, headers = outer.reply(self.path, body, count)
                    time.sleep(delay)
                finally:
                    outer.in_flight.leave()
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self.send_response(200 if self.path == "/health" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(reply, in_flight=None):
        servers.append(FakeServer(reply, in_flight))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def ok(path, body, count):
    if path.endswith("/chat/completions"):
        return 200, chat_reply(body), 0, {}
    k = body.get("n", 1)
    return 200, {"choices": [{"index": i, "text": f"t{i}", "finish_reason": "length",
                              "logprobs": {"tokens": ["a", "b", "c"], "token_logprobs": [-1.0, -2.0, -3.0]}}
                             for i in range(k)]}, 0, {}


def gen(*urls, **kw):
    kw = {"max_retries": 2, "backoff": 0.01, "timeout": 5.0, **kw}
    return OpenAIGenerator(list(urls), "served-model", **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_request_shape_logprobs_and_key(serve, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    srv = serve(ok)
    out = gen(srv.url, api_key_env="MY_KEY").generate([CHAT], PARAMS, n=3, problem_ids=["p"])
    path, body, headers = srv.requests[0]
    assert len(srv.requests) == 1 and path == "/v1/chat/completions"
    assert body == {"model": "served-model", "messages": CHAT, "max_tokens": 5, "temperature": 0.8, "top_p": 0.9,
                    "seed": 7, "logprobs": True, "top_logprobs": 1, "n": 3,
                    "stop": list(PARAMS.stop)}
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert [s.text for s in out[0]] == ["four0", "four1", "four2"] and [s.index for s in out[0]] == [0, 1, 2]
    s = out[0][0]
    assert s.problem_id == "p" and s.logprob == -2.0 and s.stats == {"mean_logprob": -1.0} and s.n_tokens == 2
    assert s.finish_reason == "stop" and s.params == {"temperature": 0.8, "top_p": 0.9, "max_new_tokens": 5, "seed": 7,
                                                      "backend": "openai", "server": srv.url,
                                                      "served_model": "served-model"}


def test_text_prompt_uses_completions_and_token_logprobs(serve):
    srv = serve(ok)
    out = gen(srv.url).generate(["Q: 1+1\nA:"], PARAMS, n=2)
    path, body, _ = srv.requests[0]
    assert path == "/v1/completions" and body["prompt"] == "Q: 1+1\nA:" and body["logprobs"] == 1
    assert [s.text for s in out[0]] == ["t0", "t1"]
    assert out[0][1].logprob == -6.0 and out[0][1].n_tokens == 3 and out[0][1].finish_reason == "length"


def test_no_logprobs_uses_usage_then_tokenizer(serve):
    srv = serve(lambda p, body, c: (200, chat_reply(body, logprobs=None), 0, {}))
    one = gen(srv.url, logprobs=False).generate([CHAT], PARAMS, n=1)[0][0]
    assert "logprobs" not in srv.requests[0][1] and one.logprob is None and one.stats == {} and one.n_tokens == 3
    tok = lambda text, add_special_tokens: {"input_ids": list(text)}  # 1 token per character
    many = gen(srv.url, tokenizer=tok, prompt_format="chat").generate([CHAT], PARAMS, n=2)[0]
    assert [s.n_tokens for s in many] == [5, 5]  # "four0": usage counts both choices, so the tokenizer counts


def test_server_ignoring_n_is_asked_again_with_next_seeds(serve):
    srv = serve(lambda p, body, c: (200, chat_reply(dict(body, n=1)), 0, {}))
    out = gen(srv.url).generate([CHAT, CHAT], PARAMS, n=3)
    assert all(len(g) == 3 for g in out) and len(srv.requests) == 6
    seeds = sorted(b["seed"] for _, b, _ in srv.requests)
    assert seeds == [7, 8, 9, 10, 11, 12]  # prompt i, sample j: seed + i*n + j


def test_use_n_false_and_greedy(serve):
    srv = serve(ok)
    out = gen(srv.url, use_n=False).generate([CHAT], PARAMS, n=3)
    assert len(srv.requests) == 3 and all("n" not in b for _, b, _ in srv.requests) and len(out[0]) == 3
    greedy = gen(srv.url).generate([CHAT], SamplingParams(0.0, 1.0, 5, seed=1), n=4)
    assert len(srv.requests) == 4 and srv.requests[-1][1]["temperature"] == 0.0
    assert [s.text for s in greedy[0]] == ["four0"] * 4 and [s.index for s in greedy[0]] == [0, 1, 2, 3]


def test_requests_spread_over_urls_with_bounded_concurrency(serve):
    slow = lambda p, body, c: (200, chat_reply(body), 0.05, {})
    both = InFlight()  # one count over both servers: the bound is on their sum at any one moment
    a, b = serve(slow, both), serve(slow, both)
    out = gen(a.url, b.url, max_concurrency=2).generate([CHAT] * 8, PARAMS, n=1)
    assert len(out) == 8 and len(a.requests) + len(b.requests) == 8
    assert len(a.requests) >= 2 and len(b.requests) >= 2
    assert 1 <= both.most <= 2 and both.now == 0


def test_server_down_fails_clearly_after_retries():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(SelftaughtError, match=r"127\.0\.0\.1.*failed after 3 attempts.*(refused|Errno)"):
        gen(url).generate([CHAT], PARAMS, n=2)


def test_one_url_down_the_other_serves(serve):
    srv = serve(ok)
    down = f"http://127.0.0.1:{free_port()}/v1"
    out = gen(down, srv.url).generate([CHAT] * 4, PARAMS, n=1)
    assert len(out) == 4 and len(srv.requests) == 4


def test_slow_server_times_out(serve):
    release = threading.Event()  # the server answers only after the test is over

    def never_in_time(p, body, c):
        release.wait(30)
        return 200, chat_reply(body), 0, {}

    srv = serve(never_in_time)
    try:
        with pytest.raises(SelftaughtError, match=r"failed after 2 attempts; last error: no answer within 0.3s \(server.timeout_s\)"):
            gen(srv.url, timeout=0.3, max_retries=1).generate([CHAT], PARAMS)
    finally:
        release.set()


@pytest.mark.parametrize("status,headers", [(500, {}), (503, {}), (429, {"Retry-After": "0"})])
def test_retryable_status_then_success(serve, status, headers):
    srv = serve(lambda p, body, c: (status, {"error": {"message": "busy"}}, 0, headers) if c == 1
                else (200, chat_reply(body), 0, {}))
    out = gen(srv.url).generate([CHAT], PARAMS, n=2)
    assert len(srv.requests) == 2 and [s.text for s in out[0]] == ["four0", "four1"]


def test_persistent_500_names_url_and_status(serve):
    srv = serve(lambda p, body, c: (500, {"error": {"message": "engine died"}}, 0, {}))
    with pytest.raises(SelftaughtError, match=r"/v1/chat/completions: request failed after 3 attempts; "
                                              r"last error: HTTP 500: engine died"):
        gen(srv.url).generate([CHAT], PARAMS)
    assert len(srv.requests) == 3


@pytest.mark.parametrize("payload", [b"<html>oops", b'{"choices": [', b"[1, 2]", b'{"id": "x"}'])
def test_malformed_body_is_a_clear_error_without_retry(serve, payload):
    srv = serve(lambda p, body, c: (200, payload, 0, {}))
    with pytest.raises(SelftaughtError, match=r"http://127\.0\.0\.1:\d+/v1/chat/completions answered"):
        gen(srv.url).generate([CHAT], PARAMS)
    assert len(srv.requests) == 1


def test_client_error_is_not_retried_and_has_a_hint(serve):
    srv = serve(lambda p, body, c: (404, {"detail": "model 'served-model' not found"}, 0, {}))
    with pytest.raises(SelftaughtError, match=r"HTTP 404: model 'served-model' not found.*end in /v1"):
        gen(srv.url).generate([CHAT], PARAMS)
    assert len(srv.requests) == 1


def test_api_key_never_in_errors_or_repr(serve, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    echo = lambda p, body, c: (401, {"error": {"message": f"bad key {srv.requests[-1][2]['Authorization']}"}}, 0, {})
    srv = serve(echo)
    g = gen(srv.url)
    with pytest.raises(SelftaughtError) as err:
        g.generate([CHAT], PARAMS)
    assert "sk-very-secret" not in str(err.value) and "***" in str(err.value) and "OPENAI_API_KEY" in str(err.value)
    assert "sk-very-secret" not in repr(g) and "sk-very-secret" not in str(vars(g).get("api_key_env"))


def test_failed_request_fails_the_whole_batch_at_once(serve):
    slow_arrived, release = threading.Event(), threading.Event()

    def reply(p, body, c):
        if body["messages"][0]["content"] == "bad":
            slow_arrived.wait(30)  # fail only once the first prompt's request is being served
            return 400, {"error": {"message": "bad prompt"}}, 0, {}
        slow_arrived.set()
        release.wait(30)  # held until the test has seen generate() return
        return 200, chat_reply(body), 0, {}

    srv = serve(reply)
    prompts = [CHAT, [{"role": "user", "content": "bad"}]] + [CHAT] * 5
    try:
        with pytest.raises(SelftaughtError, match="bad prompt"):
            gen(srv.url, max_concurrency=2).generate(prompts, PARAMS)
        assert srv.in_flight.now >= 1  # returned without waiting for the request still in flight
    finally:
        release.set()
    for worker in [t for t in threading.enumerate() if t.name.startswith("openai-backend")]:
        worker.join(30)
    assert len(srv.requests) <= 3  # the queued ones were cancelled (a freed worker may take one more)


def test_wait_ready(serve):
    srv = serve(ok)
    wait_ready([srv.url], timeout=5)
    with pytest.raises(SelftaughtError, match="not ready after 0.2s"):
        wait_ready([f"http://127.0.0.1:{free_port()}/v1"], timeout=0.2, interval=0.05)


def test_stop_strings_are_sent_and_cut(serve):
    """The API's `stop` gets the list; a server that still returns a stop string has the text cut there."""
    def reply(path, body, count):
        text = "12\nAnswer: 12\nQuestion: what next?" if "stop" not in body else "12\nAnswer: 12"
        return 200, {"choices": [{"index": 0, "text": text, "finish_reason": "length"}]}, 0, {}

    srv = serve(reply)
    ignoring = gen(srv.url).generate(["q"], SamplingParams(temperature=0.0, max_new_tokens=9, stop=()))[0][0]
    assert ignoring.text.endswith("what next?") and ignoring.finish_reason == "length"
    assert "stop" not in srv.requests[0][1]
    cut = gen(srv.url).generate(["q"], SamplingParams(temperature=0.0, max_new_tokens=9, stop=("\nQuestion:",)))
    assert srv.requests[1][1]["stop"] == ["\nQuestion:"] and cut[0][0].text == "12\nAnswer: 12"
    srv2 = serve(lambda path, body, count: (200, {"choices": [{"index": 0, "text": "7\nQuestion: x",
                                                                "finish_reason": "length"}]}, 0, {}))
    kept = gen(srv2.url).generate(["q"], SamplingParams(temperature=0.0, max_new_tokens=9))[0][0]
    assert (kept.text, kept.finish_reason) == ("7", "stop")  # a server that ignores `stop`


def test_plain_format_sends_chat_prompts_as_text_to_completions(serve):
    from conftest import make_tiny_tokenizer
    from selftaught.tasks.formats import render_plain

    srv = serve(ok)
    base = make_tiny_tokenizer()
    base.chat_template = None  # a base model: `auto` resolves to plain
    for generator in (gen(srv.url, prompt_format="plain"), gen(srv.url, tokenizer=base)):
        assert generator.prompt_format == "plain"
        generator.generate([CHAT], PARAMS, n=1)
        path, body, _ = srv.requests[-1]
        assert path == "/v1/completions" and body["prompt"] == render_plain(CHAT)
    assert gen(srv.url).prompt_format == "chat"  # no tokenizer: the server's template
