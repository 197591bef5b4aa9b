"""`OpenAIGenerator`: samples through OpenAI-compatible HTTP servers (vLLM, SGLang, llama.cpp, `transformers serve`).

Chat-message prompts go to `POST {base_url}/chat/completions`, plain strings to `{base_url}/completions`
(the server applies its own chat template, as `vllm serve` does with the model's). With the `plain`
prompt format (`prompt.format`; `auto` picks it when the round's tokenizer has no chat template: a
base model) chat messages are rendered as plain text (`tasks.formats`) and go to `/completions`.
Requests are spread over the base URLs (the one with the fewest requests in flight, ties in turn) with at most
`max_concurrency` in flight. A request asks for all n samples of a prompt (the API's `n`); a server
that answers with fewer choices (some ignore `n`) is asked again for the rest with the next seeds.

`params.stop` goes as the API's `stop` list (the server ends the completion before the first one and leaves
it out); the text is cut again here before any stop string it still holds (a server that ignores `stop`,
or returns it), then with finish_reason "stop". OpenAI's own API takes at most 4 stop strings; vLLM,
SGLang and llama.cpp take the whole list.

Per sample: `text`, `finish_reason` ("length" or "stop"), and when the server returns log-probs (vLLM,
SGLang, llama.cpp do for `logprobs`): `logprob` (their sum) and `stats["mean_logprob"]`; else None.
vLLM's default `logprobs_mode` (`raw_logprobs`) reports the raw distribution's log-probs, before
temperature and top-p, as the hf backend does. Entropy and self-certainty need the whole distribution,
which servers do not return. `n_tokens`: the log-prob entries, else `usage.completion_tokens`, else
the tokenizer's count of the text.

Connection errors, timeouts, HTTP 408/409/429 and 5xx are retried with exponential backoff (a
`Retry-After` header is honoured); other 4xx and malformed bodies fail at once with a `SelftaughtError`
naming the URL and status. The batch completes or raises: no partial result, so a round never writes a
partial samples file. The API key is read from the environment variable `api_key_env` and sent only as
the `Authorization` header; it is never logged, and scrubbed from any error text.

Each attempt has a connect timeout (`server.connect_timeout_s`) and a read timeout (`server.timeout_s`); a
whole batch may have a deadline (`server.deadline_s`), so a hung server fails the round with a message
instead of holding it for timeouts x attempts. A retry prints one line (URL, error, attempt). A server
that refuses `n` > 1 with HTTP 400 (llama-server: more than its slots) is asked one sample per request.

Transport: the standard library (http.client in a thread pool). Generation requests are long and few (one
per prompt), so threads cost nothing next to the server's work, and no dependency is added. The
official `openai` client would retry and back off, but its fixed retry policy hides the status codes
and URL we report, and it is not a selftaught dependency; httpx is not one either.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Sequence
from urllib.parse import urlsplit


from ..core.errors import SelftaughtError
from ..core.progress import progress
from ..core.protocols import check_generate_args
from ..core.records import Prompt, Sample, SamplingParams
from ..tasks.formats import continues, format_prompt, resolve_prompt_format
from .backends import BACKENDS, safe_url
from .resolve import DEFAULT_HUB_ID, DEFAULT_NAME, console
from .stopping import first_stop

RETRY_STATUS = {408, 409, 429}  # and every 5xx
MAX_DELAY_S = 60.0


class _Aborted(Exception):
    """Another request of the batch failed; this one stops."""


class _ConnectTimeout(TimeoutError):
    """The TCP connection was not accepted within server.connect_timeout_s."""


class _Rejected(SelftaughtError):
    """A server refused a request with a 4xx status that is not worth retrying."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(message)
        self.url, self.status = url, status


class OpenAIGenerator:
    """Samples completions from OpenAI-compatible servers (implements `core.protocols.Generator`)."""

    backend_name = "openai"  # recorded with the samples it makes (models.backends.generator_source)

    def __init__(self, base_urls: Sequence[str], model: str, api_key_env: str = "OPENAI_API_KEY",
                 max_concurrency: int = 16, timeout: float = 300.0, max_retries: int = 4, backoff: float = 1.0,
                 tokenizer: Any = None, use_n: bool = True, logprobs: bool = True, connect_timeout: float = 10.0,
                 deadline: float | None = None, prompt_format: str = "auto") -> None:
        if isinstance(base_urls, str):
            base_urls = [base_urls]
        if not base_urls:
            raise SelftaughtError("server.base_urls is empty; give at least one, e.g. http://127.0.0.1:8000/v1.")
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("max_concurrency >= 1, max_retries >= 0, timeout > 0 and backoff >= 0 are required")
        self.base_urls = [u.rstrip("/") for u in base_urls]
        self.model, self.api_key_env, self.tokenizer = model, api_key_env, tokenizer
        self.max_concurrency, self.timeout = max_concurrency, timeout
        self.connect_timeout, self.deadline = min(connect_timeout, timeout), deadline
        self.max_retries, self.backoff = max_retries, backoff
        self.use_n, self.logprobs, self.progress = use_n, logprobs, False
        self._key = os.environ.get(api_key_env) or None  # never logged; see _scrub
        # `auto` looks for a chat template in the round's tokenizer (none given: the server's template is
        # used); `chat` trusts the server to have one (`vllm serve --chat-template`), whatever the tokenizer
        self.prompt_format = resolve_prompt_format(prompt_format, tokenizer if prompt_format == "auto" else None)
        if tokenizer is None and prompt_format == "auto":
            self.prompt_format = "chat"
        self._busy = [0] * len(self.base_urls)
        self._turn = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIGenerator(base_urls={self.base_urls!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    # ---- Generator protocol ------------------------------------------------------------------------
    def generate(self, prompts: list[Prompt], params: SamplingParams, n: int = 1,
                 problem_ids: list[str] | None = None) -> list[list[Sample]]:
        """n samples for each prompt, in prompt order (greedy: one request, copied n times)."""
        check_generate_args(prompts, params, n, problem_ids)
        prompts = [format_prompt(p, self.prompt_format) for p in prompts]
        runs = 1 if params.greedy else n
        per_request = runs if self.use_n else 1
        jobs = [(i, j, min(per_request, runs - j)) for i in range(len(prompts)) for j in range(0, runs, per_request)]
        outs = self._run_jobs(jobs, prompts, params, runs)
        record = {"temperature": params.temperature, "top_p": params.top_p,
                  "max_new_tokens": params.max_new_tokens, "seed": params.seed, "backend": "openai",
                  "server": ", ".join(map(_safe, self.base_urls)), "served_model": self.model}
        pids = problem_ids if problem_ids is not None else [str(i) for i in range(len(prompts))]
        return [[Sample(problem_id=pids[i], index=j, params=dict(record), **outs[(i, j % runs)]) for j in range(n)]
                for i in range(len(prompts))]

    def _run_jobs(self, jobs, prompts, params, runs) -> dict[tuple[int, int], dict]:
        """All jobs' samples, or the first error: queued jobs are cancelled, running ones stop after their
        current request (not waited for, so an error or Ctrl-C returns at once)."""
        outs: dict[tuple[int, int], dict] = {}
        if not jobs:
            return outs
        abort = threading.Event()
        pool = ThreadPoolExecutor(min(self.max_concurrency, len(jobs)), thread_name_prefix="openai-backend")
        try:
            with progress("Generating", len(jobs), self.progress, unit="req") as advance:
                futures = {pool.submit(self._job, prompts[i], params, i * runs + j, k, abort): (i, j)
                           for i, j, k in jobs}
                pending = set(futures)
                end = None if self.deadline is None else time.monotonic() + self.deadline
                while pending:
                    left = None if end is None else end - time.monotonic()
                    done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
                    if not done and pending:
                        raise SelftaughtError(
                            f"{len(pending)} of {len(jobs)} requests to {', '.join(map(_safe, self.base_urls))} were "
                            f"still unanswered after {self.deadline:g}s (server.deadline_s): is the server hung? "
                            "Nothing of this batch was written.")
                    for f in done:
                        i, j = futures[f]
                        outs.update({(i, j + m): s for m, s in enumerate(f.result())})
                        advance()
        except BaseException:
            abort.set()
            raise
        finally:
            pool.shutdown(wait=not abort.is_set(), cancel_futures=True)
        return outs

    def _job(self, prompt: Prompt, params: SamplingParams, seed_offset: int, k: int,
             abort: threading.Event) -> list[dict]:
        """k samples of one prompt; asks again while the server returns fewer choices than asked."""
        got: list[dict] = []
        while len(got) < k:
            chat = not isinstance(prompt, str)
            body = self._body(prompt, params, k - len(got), params.seed + seed_offset + len(got))
            try:
                url, data = self._post("/chat/completions" if chat else "/completions", body, abort)
            except _Rejected as e:
                if e.status != 400 or body.get("n", 1) == 1:
                    raise
                self._stop_using_n(e)
                continue
            choices = _choices(url, data)
            single = len(choices) == 1
            got += [_parse_choice(c, chat, data.get("usage") if single else None, self.tokenizer, params.stop)
                    for c in choices[: k - len(got)]]
        return got

    def _stop_using_n(self, e: "_Rejected") -> None:
        """A server that refuses `n` > 1 (llama-server: more than its slots) gets one request per sample."""
        with self._lock:
            if self.use_n:
                self.use_n = False
                console.print(f"[yellow]note:[/] {e.url} refused a request for several samples (HTTP 400); asking "
                              "for one sample per request from now on (set server.use_n: false to skip the first "
                              "try, or start llama-server with -np >= sampling.n).", highlight=False)

    def _body(self, prompt: Prompt, params: SamplingParams, k: int, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": params.max_new_tokens,
                                "temperature": max(params.temperature, 0.0), "top_p": params.top_p, "seed": seed}
        if isinstance(prompt, str):
            body["prompt"] = prompt
            if self.logprobs:
                body["logprobs"] = 1  # the chosen token's log-prob (and the top one)
        else:
            body["messages"] = list(prompt)
            if continues(prompt):  # write on from the assistant's text (vLLM / SGLang request keys)
                body["continue_final_message"], body["add_generation_prompt"] = True, False
            if self.logprobs:  # fewest alternatives that still return the sampled token's log-prob (llama.cpp
                body["logprobs"], body["top_logprobs"] = True, 1  # sends 20 per token when it is left out)
        if k > 1 and self.use_n:
            body["n"] = k
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    # ---- HTTP ----------------------------------------------------------------------------------------
    def _pick(self, avoid: int | None) -> int:
        """The base URL with the fewest requests in flight (ties in turn), not `avoid` if others exist."""
        with self._lock:
            m = len(self.base_urls)
            u = min(range(m), key=lambda x: (x == avoid and m > 1, self._busy[x], (x - self._turn) % m))
            self._busy[u] += 1
            self._turn = (u + 1) % m
            return u

    def _post(self, path: str, body: dict, abort: threading.Event) -> tuple[str, dict]:
        """(url, parsed JSON body) of a successful request, retried as the module docstring says."""
        avoid, last = None, ""
        for attempt in range(self.max_retries + 1):
            if abort.is_set():
                raise _Aborted()
            u = self._pick(avoid)
            url = self.base_urls[u] + path
            try:
                status, raw, retry_after = self._send(url, body)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # refused, reset, timed out
                reason = getattr(e, "reason", e)
                status, raw, retry_after = None, b"", None
                last = _timeout_text(reason, self) if isinstance(reason, TimeoutError) else f"{reason}"
            finally:
                with self._lock:
                    self._busy[u] -= 1
            if status is not None and 200 <= status < 300:
                return url, self._json(url, status, raw)
            if status is not None and status < 500 and status not in RETRY_STATUS:
                raise _Rejected(_safe(url), status, self._scrub(
                    f"{_safe(url)} answered HTTP {status}: {_message(raw)}. {_hint(status, self)}"))
            if status is not None:
                last = f"HTTP {status}: {_message(raw)}"
            if attempt < self.max_retries:
                delay = min(self.backoff * 2 ** attempt * random.uniform(0.5, 1.0), MAX_DELAY_S)
                delay = max(delay, min(retry_after or 0.0, MAX_DELAY_S))
                if not abort.is_set():
                    console.print(self._scrub(f"[yellow]retry:[/] {_safe(url)}: {last} (attempt {attempt + 1} of "
                                              f"{self.max_retries + 1}; next in {delay:.1f}s)"), highlight=False)
                abort.wait(delay)
            avoid = u
        raise SelftaughtError(self._scrub(
            f"{_safe(url)}: request failed after {self.max_retries + 1} attempts; last error: {last}. Check that "
            "the server is running and server.base_urls points at it (server.timeout_s, server.max_retries "
            "set the patience)."))

    def _send(self, url: str, body: dict) -> tuple[int, bytes, float | None]:
        """POST with a connect timeout (server.connect_timeout_s) and a read timeout (server.timeout_s)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=self.connect_timeout)
        try:
            try:
                conn.connect()
            except TimeoutError as e:
                raise _ConnectTimeout() from e
            conn.sock.settimeout(self.timeout)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            retry_after = None if 200 <= resp.status < 300 else _retry_after(resp.headers)
            return resp.status, raw, retry_after
        finally:
            conn.close()

    def _json(self, url: str, status: int, raw: bytes) -> dict:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise SelftaughtError(self._scrub(f"{_safe(url)} answered HTTP {status} with a body that is not a JSON "
                                              f"object: {_excerpt(raw)!r}. Is this an OpenAI-compatible server?"))
        return data

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _choices(url: str, data: dict) -> list[dict]:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        raise SelftaughtError(f"{_safe(url)} answered without a `choices` list: {_excerpt(json.dumps(data))!r}.")
    return sorted(choices, key=lambda c: c.get("index") or 0)


def _parse_choice(choice: dict, chat: bool, usage: dict | None, tokenizer: Any, stops: Sequence[str] = ()) -> dict:
    text = ((choice.get("message") or {}).get("content") if chat else choice.get("text")) or ""
    at = first_stop(text, stops)
    if at is not None:
        text, choice = text[:at], {**choice, "finish_reason": "stop"}
    lps = _token_logprobs(choice.get("logprobs"), chat)
    if lps:
        n_tokens = len(lps)
    elif usage and isinstance(usage.get("completion_tokens"), int):
        n_tokens = usage["completion_tokens"]
    elif tokenizer is not None:
        n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    else:
        n_tokens = 0  # unknown: no log-probs, no per-choice usage, no tokenizer
    out = {"text": text, "n_tokens": n_tokens, "logprob": None, "stats": {},
           "finish_reason": "length" if choice.get("finish_reason") == "length" else "stop"}
    if lps:
        out["logprob"] = float(sum(lps))
        out["stats"] = {"mean_logprob": out["logprob"] / len(lps)}
    return out


def _token_logprobs(lp: Any, chat: bool) -> list[float] | None:
    """The sampled tokens' log-probs: chat `logprobs.content[].logprob`, completions `logprobs.token_logprobs`."""
    if not isinstance(lp, dict):
        return None
    items = [c.get("logprob") for c in lp.get("content") or [] if isinstance(c, dict)] if chat \
        else list(lp.get("token_logprobs") or [])
    values = [float(x) for x in items if isinstance(x, (int, float))]
    return values or None


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("Retry-After")) if headers and headers.get("Retry-After") else None
    except ValueError:
        return None


def _message(raw: bytes) -> str:
    """The server's error message (OpenAI `{"error": {"message"}}`, FastAPI `{"detail"}`), else the body."""
    try:
        data = json.loads(raw)
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message") or err.get("detail") if isinstance(err, dict) else err
        return _excerpt(msg if isinstance(msg, str) else json.dumps(msg))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return _excerpt(raw) or "(empty body)"


def _timeout_text(reason: BaseException, gen: OpenAIGenerator) -> str:
    if isinstance(reason, _ConnectTimeout):
        return f"no connection within {gen.connect_timeout:g}s (server.connect_timeout_s)"
    return f"no answer within {gen.timeout:g}s (server.timeout_s)"


def _hint(status: int, gen: OpenAIGenerator) -> str:
    if status in (401, 403):
        return f"Check the API key in the environment variable {gen.api_key_env} (server.api_key_env)."
    if status == 404:
        return (f"Check server.base_urls (they usually end in /v1) and server.model (the served model name; "
                f"sent {gen.model!r}).")
    return ("The server rejected the request; if it does not support `n` (llama-server allows at most its slot "
            "count: start it with -np >= sampling.n) or `logprobs`, set server.use_n: false or server.logprobs: false "
            "(OpenAI's own API also takes at most 4 `stop` strings).")


def _excerpt(raw: bytes | str, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


_safe = safe_url  # URLs in errors and records never carry a user:password part


# ---- config glue --------------------------------------------------------------------------------------
def served_model_name(cfg) -> str:
    """server.model, else the recipe's model (`default` -> its Hub id, the name vLLM serves it under)."""
    if cfg.server.model:
        return cfg.server.model
    return DEFAULT_HUB_ID if cfg.model == DEFAULT_NAME else cfg.model


def openai_backend(cfg, model: Any = None, tokenizer: Any = None) -> OpenAIGenerator:
    """Backend factory for `backend: openai` (the model object is not used; the tokenizer counts tokens)."""
    s = cfg.server
    return OpenAIGenerator(s.base_urls, served_model_name(cfg), api_key_env=s.api_key_env,
                           max_concurrency=s.max_concurrency, timeout=s.timeout_s, max_retries=s.max_retries,
                           backoff=s.backoff_s, tokenizer=tokenizer, use_n=s.use_n, logprobs=s.logprobs,
                           connect_timeout=s.connect_timeout_s, deadline=s.deadline_s,
                           prompt_format=cfg.prompt.format)


def check_server_follows(cfg) -> None:
    """Refuse a loop whose later rounds would silently sample the starting model from the server."""
    s = cfg.server
    if cfg.backend == "openai" and cfg.loop.rounds > 0 and not s.reload_command and not s.follows_checkpoints:
        raise SelftaughtError(
            "backend openai with loop.rounds > 0: the servers must serve each round's checkpoint, or rounds after 0 "
            "sample and evaluate the starting model. Set server.reload_command (e.g. a script that restarts "
            "`vllm serve {checkpoint}`), or server.follows_checkpoints: true if your servers load them themselves.")


def wait_ready(base_urls: Sequence[str], timeout: float, interval: float = 0.5, show: bool = False) -> None:
    """Wait until every server answers `GET /health` or `GET {base_url}/models` with 200 (at most `timeout` s);
    `show`: a bar counting the servers ready."""
    deadline = time.monotonic() + timeout
    waiting = [u.rstrip("/") for u in base_urls]
    with progress("Waiting for the server(s)", len(waiting), show, unit="server") as advance:
        while waiting:
            before = len(waiting)
            waiting = [u for u in waiting if not _answers(u)]
            advance(before - len(waiting))
            if waiting and time.monotonic() >= deadline:
                raise SelftaughtError(f"server(s) not ready after {timeout:g}s: {', '.join(map(_safe, waiting))} "
                                      "(tried GET /health and GET {base_url}/models).")
            if waiting:
                time.sleep(interval)


def _answers(base_url: str) -> bool:
    root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    for url in (root + "/health", base_url + "/models"):
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def reload_server(cfg, checkpoint: str, show_progress: bool = False) -> bool:
    """Point the server at `checkpoint`: run server.reload_command, then wait until the servers answer.

    `{checkpoint}` in the command becomes the (shell-quoted) folder; the command also sees it as
    $SELFTAUGHT_CHECKPOINT. Its output goes to this process's stdout/stderr (so a command that starts a
    server in the background cannot hang on a pipe). Returns False when no command is set.
    `show_progress`: a bar while waiting for the servers.
    """
    command = cfg.server.reload_command
    if not command:
        return False
    line = command.replace("{checkpoint}", shlex.quote(str(checkpoint)))
    env = dict(os.environ, SELFTAUGHT_CHECKPOINT=str(checkpoint))
    try:
        code = subprocess.run(line, shell=True, env=env, stdin=subprocess.DEVNULL,
                              timeout=cfg.server.reload_timeout_s).returncode
    except subprocess.TimeoutExpired:
        raise SelftaughtError(f"server.reload_command did not finish in {cfg.server.reload_timeout_s:g}s "
                              f"(server.reload_timeout_s) for checkpoint {checkpoint}.") from None
    if code != 0:
        raise SelftaughtError(f"server.reload_command exited with status {code} for checkpoint {checkpoint} "
                              "(its output is above).")
    wait_ready(cfg.server.base_urls, cfg.server.reload_timeout_s, show=show_progress)
    return True


BACKENDS.register("openai", openai_backend)
