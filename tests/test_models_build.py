"""build_generator: the backend registry."""

from __future__ import annotations

import pytest

from selftaught.core.config import Config
from selftaught.core.errors import SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.models import BACKENDS, HFGenerator, build_generator, register_backend


def test_hf_backend_reuses_a_loaded_model(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    cfg = Config(sampling={"batch_size": 7})
    gen = build_generator(cfg, model=model, tokenizer=tok)
    assert isinstance(gen, HFGenerator) and gen.model is model and gen.batch_size == 7


def test_hf_backend_loads_by_path(tiny_model_dir):
    gen = build_generator(Config(model=tiny_model_dir, device="cpu"))
    out = gen.generate(["abc"], SamplingParams(temperature=0.0, max_new_tokens=3))
    assert len(out) == 1 and out[0][0].n_tokens >= 1


def test_registered_backend_by_name_and_lazy_string(monkeypatch):
    monkeypatch.setitem(BACKENDS, "dummy", None)
    sentinel = object()
    register_backend("dummy", lambda cfg, model, tok: (sentinel, cfg.backend))
    cfg = Config().model_copy(update={"backend": "dummy"})
    assert build_generator(cfg) == (sentinel, "dummy")
    register_backend("dummy", "builtins:slice")  # a "module:function" name, imported when chosen
    assert build_generator(cfg) == slice(cfg, None, None)


def test_unknown_backend_lists_known_ones():
    cfg = Config().model_copy(update={"backend": "nope"})
    with pytest.raises(SelftaughtError, match="unknown backend `nope`.*; known: .*hf"):
        build_generator(cfg)


def test_fast_backend_takes_the_attention_from_the_recipe(tiny_model_and_tokenizer, monkeypatch):
    from selftaught.models import fast_kernels
    from selftaught.models.fast import FastGenerator

    model, tok = tiny_model_and_tokenizer
    gen = build_generator(Config(backend="fast", sampling={"batch_size": 5}), model=model, tokenizer=tok)
    assert isinstance(gen, FastGenerator) and gen.attention == "sdpa" and gen.max_batch == 5
    cfg = Config(backend="fast", fast_attention="triton")
    monkeypatch.setattr(fast_kernels, "triton", None)  # a machine without Triton: a clear error, not a crash later
    with pytest.raises(SelftaughtError, match="fast_attention: triton needs"):
        build_generator(cfg, model=model, tokenizer=tok)
    monkeypatch.setattr(fast_kernels, "triton", object())  # with Triton the generator is built with it
    assert build_generator(cfg, model=model, tokenizer=tok).attention == "triton"
