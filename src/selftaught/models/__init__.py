"""Generation backends. `build_generator(cfg)` picks one by `cfg.backend` from `BACKENDS`.

A backend is a factory `(cfg, model, tokenizer) -> Generator`. Another module adds one with
`register_backend("name", factory)`, or lazily as a `"module:function"` string (so heavy imports such
as vLLM happen only when that backend is chosen).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Union

from ..core.config import Config
from ..core.errors import SelftaughtError
from ..core.protocols import Generator
from .hf import HFGenerator, token_stats
from .resolve import cache_dir, load_model, pick_device, pick_dtype, resolve_model

BackendFactory = Callable[[Config, Any, Any], Generator]


def _hf_backend(cfg: Config, model: Any = None, tokenizer: Any = None) -> Generator:
    if model is None or tokenizer is None:
        model, tokenizer = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype)
    return HFGenerator(model, tokenizer, batch_size=cfg.sampling.batch_size, device=model.device,
                       prompt_format=cfg.prompt.format)


def _fast_backend(cfg: Config, model: Any = None, tokenizer: Any = None) -> Generator:
    from . import fast_kernels
    from .fast import FastGenerator, fallback_note

    if cfg.fast_attention == "triton" and fast_kernels.triton is None:
        raise SelftaughtError("fast_attention: triton needs the `triton` package (it comes with torch's CUDA "
                              "wheels); use fast_attention: sdpa on this machine.")
    if model is None or tokenizer is None:
        model, tokenizer = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype)
    if fallback_note(model):  # a family the fast sampler does not cover: transformers generate instead
        return _hf_backend(cfg, model, tokenizer)
    return FastGenerator(model, tokenizer, max_batch=cfg.sampling.batch_size, attention=cfg.fast_attention,
                         prompt_format=cfg.prompt.format)


BACKENDS: dict[str, Union[BackendFactory, str]] = {
    "hf": _hf_backend,
    "fast": _fast_backend,
    "openai": "selftaught.models.openai_backend:openai_backend",
    "vllm": "selftaught.models.vllm_backend:vllm_backend",
}


def register_backend(name: str, factory: Union[BackendFactory, str]) -> None:
    """Add a backend: a factory `(cfg, model, tokenizer) -> Generator`, or its `"module:function"` name."""
    BACKENDS[name] = factory


def build_generator(cfg: Config, model: Any = None, tokenizer: Any = None) -> Generator:
    """The generator `cfg.backend` names; `model`/`tokenizer` reuse an already loaded model (hf)."""
    factory = BACKENDS.get(cfg.backend)
    if factory is None:
        raise SelftaughtError(f"unknown backend {cfg.backend!r}; known: {', '.join(sorted(BACKENDS))}.")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(cfg, model, tokenizer)


__all__ = ["BACKENDS", "HFGenerator", "build_generator", "cache_dir", "load_model", "pick_device", "pick_dtype",
           "register_backend", "resolve_model", "token_stats"]
