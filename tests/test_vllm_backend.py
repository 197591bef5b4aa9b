"""The vllm backend's pure mapping (SamplingParams -> vllm kwargs, CompletionOutput -> Sample fields, chat
prompts -> token ids) and VLLMGenerator over fake `vllm` objects; vLLM itself is not installed here."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from selftaught.core.errors import SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.models import vllm_backend
from selftaught.models.vllm_backend import VLLMGenerator, sample_fields, vllm_inputs, vllm_sampling_kwargs
from selftaught.tasks.formats import render_plain


@dataclass
class Logprob:  # vllm.sequence.Logprob's shape
    logprob: float
    rank: int | None = None


@dataclass
class Completion:  # vllm.outputs.CompletionOutput's shape
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None = None
    logprobs: list | None = None
    finish_reason: str | None = "stop"


@dataclass
class RequestOutput:
    outputs: list = field(default_factory=list)


def test_sampling_kwargs_greedy_is_temperature_zero():
    kw = vllm_sampling_kwargs(SamplingParams(0.0, 1.0, 8, seed=1, stop=()), n=1, seed=4)
    assert kw == {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 8, "seed": 4, "logprobs": 0}


def test_stop_strings_and_stop_tokens_are_passed(fake_vllm, tiny_model_and_tokenizer):
    _, tok = tiny_model_and_tokenizer  # <|im_start|> is a special token (id 1) of this tokenizer
    llm = FakeLLM()
    VLLMGenerator(llm, tokenizer=tok).generate(["a"], SamplingParams(0.0, 1.0, 4, stop=("<|im_start|>", "\nQ:")))
    sampling = llm.calls[0][1][0]
    assert sampling.stop == ["<|im_start|>", "\nQ:"] and sampling.stop_token_ids == [1]


def test_sample_fields_sum_the_sampled_tokens_logprobs():
    out = Completion(0, "ab", [5, 6, 2], cumulative_logprob=-99.0, finish_reason="stop",
                     logprobs=[{5: Logprob(-0.5), 9: Logprob(-0.1)}, {6: Logprob(-1.0)}, {2: Logprob(-1.5)}])
    f = sample_fields(out)
    assert f == {"text": "ab", "n_tokens": 3, "finish_reason": "stop", "logprob": -3.0, "stats": {"mean_logprob": -1.0}}


def test_sample_fields_fallbacks():
    f = sample_fields(Completion(0, "x", [1, 2], cumulative_logprob=-4.0, finish_reason="length"))
    assert f["logprob"] == -4.0 and f["stats"] == {"mean_logprob": -2.0} and f["finish_reason"] == "length"
    f = sample_fields(Completion(0, "x", [1], finish_reason="abort"))
    assert f["logprob"] is None and f["stats"] == {} and f["finish_reason"] == "stop"


def test_chat_prompts_become_template_token_ids(tiny_model_and_tokenizer):
    _, tok = tiny_model_and_tokenizer
    chat = [{"role": "user", "content": "hi"}]
    got = vllm_inputs(["plain", chat], tok)
    text = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert got[0] == "plain" and got[1] == {"prompt_token_ids": tok(text, add_special_tokens=False)["input_ids"]}
    assert vllm_inputs([chat], tok, "plain") == [render_plain(chat)]
    tok.chat_template = None  # a base model: plain text under `auto`, an error under `chat`
    assert vllm_inputs([chat], tok) == [render_plain(chat)]
    with pytest.raises(SelftaughtError, match="no chat template"):
        vllm_inputs([chat], tok, "chat")


class FakeLLM:
    def __init__(self):
        self.calls = []

    def generate(self, prompts, sampling, use_tqdm=True):
        self.calls.append((prompts, sampling))
        return [RequestOutput([Completion(j, f"p{i}s{j}", [1, 2], cumulative_logprob=-1.0) for j in range(sp.n)])
                for i, sp in enumerate(sampling)]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_generator_maps_prompts_params_and_outputs(fake_vllm):
    llm = FakeLLM()
    out = VLLMGenerator(llm, tokenizer=object()).generate(["a", "b"], SamplingParams(0.8, 0.9, 16, seed=10), n=2,
                                                          problem_ids=["x", "y"])
    prompts, sampling = llm.calls[0]
    assert prompts == ["a", "b"] and [s.seed for s in sampling] == [10, 11] and {s.n for s in sampling} == {2}
    assert [[(s.problem_id, s.index, s.text) for s in g] for g in out] == [
        [("x", 0, "p0s0"), ("x", 1, "p0s1")], [("y", 0, "p1s0"), ("y", 1, "p1s1")]]
    assert out[0][0].logprob == -1.0 and out[0][0].params["max_new_tokens"] == 16


def test_greedy_decodes_once_and_copies(fake_vllm):
    llm = FakeLLM()
    out = VLLMGenerator(llm, tokenizer=object()).generate(["a"], SamplingParams(0.0, 1.0, 4), n=3)
    assert llm.calls[0][1][0].n == 1
    assert [s.text for s in out[0]] == ["p0s0"] * 3 and [s.index for s in out[0]] == [0, 1, 2]


def test_factory_needs_a_folder_not_a_loaded_model(fake_vllm):
    from selftaught.core.config import Config

    with pytest.raises(SelftaughtError, match="checkpoint folder"):
        vllm_backend.vllm_backend(Config(backend="vllm"), model=object())


def test_load_llm_keeps_one_model(fake_vllm, monkeypatch):
    made = []
    fake_vllm.LLM = lambda model, **kw: made.append((model, kw)) or f"llm:{model}"
    monkeypatch.setattr(vllm_backend, "_LOADED", {})
    assert vllm_backend.load_llm("/a", seed=1) == "llm:/a" and vllm_backend.load_llm("/a") == "llm:/a"
    assert vllm_backend.load_llm("/b") == "llm:/b" and list(vllm_backend._LOADED) == ["/b"]
    assert made == [("/a", {"seed": 1}), ("/b", {})]
