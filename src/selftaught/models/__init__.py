"""Generation backends. `build_generator(cfg)` picks one by `cfg.backend` from `BACKENDS` (see `backends`).

A backend is a factory `(cfg, model, tokenizer) -> Generator` registered at the bottom of its own
module; `register_backend("name", factory)` adds one from elsewhere, also lazily as a
`"module:function"` string (so heavy imports happen only when that backend is chosen).
"""

from __future__ import annotations

from .backends import BACKENDS, BackendFactory, build_generator, register_backend
from .hf import HFGenerator, token_stats
from .resolve import cache_dir, load_model, pick_device, pick_dtype, resolve_model

__all__ = ["BACKENDS", "BackendFactory", "HFGenerator", "build_generator", "cache_dir", "load_model", "pick_device",
           "pick_dtype", "register_backend", "resolve_model", "token_stats"]
