"""Server edges of backend openai: a retry says so, a server that refuses `n` gets one sample per request,
a hung server fails the batch at server.deadline_s, chat log-probs ask for one alternative, and a loop
whose later rounds would sample the starting model is refused before anything runs."""

from __future__ import annotations

import pytest

from conftest import loop_config
from selftaught.core.errors import SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.loop.rounds import run_loop
from selftaught.models import openai_backend
from test_openai_backend import CHAT, PARAMS, chat_reply, gen, serve  # noqa: F401  (serve is a fixture)


@pytest.fixture
def printed(monkeypatch):
    lines = []
    monkeypatch.setattr(openai_backend.console, "print", lambda text, **kw: lines.append(str(text)))
    return lines


def test_a_retry_prints_one_line_with_url_status_and_attempt(serve, printed):
    srv = serve(lambda path, body, count: (503, {"error": "busy"}, 0, {}) if count == 1 else
                (200, chat_reply(body), 0, {}))
    out = gen(srv.url).generate([CHAT], PARAMS, n=2)
    assert len(out[0]) == 2
    assert len(printed) == 1 and srv.url in printed[0] and "HTTP 503" in printed[0] and "attempt 1 of 3" in printed[0]


def test_a_server_refusing_n_gets_one_sample_per_request(serve, printed):
    def slots(path, body, count):
        if body.get("n", 1) > 1:
            return 400, {"error": {"message": "n exceeds the number of slots"}}, 0, {}
        return 200, chat_reply(body), 0, {}

    srv = serve(slots)
    g = gen(srv.url)
    out = g.generate([CHAT, CHAT], PARAMS, n=3)
    assert [len(x) for x in out] == [3, 3] and not g.use_n
    asked_n = [body.get("n", 1) for _, body, _ in srv.requests]
    assert sum(n > 1 for n in asked_n) <= 2  # at most each prompt's first try (they may run concurrently)
    assert asked_n.count(1) == 6  # then one sample per request
    assert sum("-np >= sampling.n" in line for line in printed) == 1


def test_other_400s_still_fail_with_the_slot_hint(serve):
    srv = serve(lambda path, body, count: (400, {"error": {"message": "bad"}}, 0, {}))
    with pytest.raises(SelftaughtError, match=r"HTTP 400.*-np >= sampling.n"):
        gen(srv.url).generate([CHAT], PARAMS, n=1)


def test_a_hung_server_fails_the_batch_at_the_deadline(serve):
    srv = serve(lambda path, body, count: (200, chat_reply(body), 3.0, {}))
    with pytest.raises(SelftaughtError, match=r"unanswered after 0.5s \(server.deadline_s\)"):
        gen(srv.url, deadline=0.5, timeout=30.0).generate([CHAT], PARAMS)


def test_chat_logprobs_ask_for_one_alternative(serve):
    srv = serve(lambda path, body, count: (200, chat_reply(body), 0, {}))
    gen(srv.url).generate([CHAT], SamplingParams(0.0, 1.0, 4, 0))
    body = srv.requests[0][1]
    assert body["logprobs"] is True and body["top_logprobs"] == 1


def test_loop_with_server_not_following_checkpoints_is_refused(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "loop.rounds=1", "backend=openai", "server.base_urls=[http://127.0.0.1:9/v1]")
    with pytest.raises(SelftaughtError, match="server.reload_command.*server.follows_checkpoints"):
        run_loop(cfg, str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()
