"""The registry of generation backends (`BACKENDS`) and `build_generator(cfg)`, which picks one by `cfg.backend`.

A backend is a factory `(cfg, model, tokenizer) -> Generator`, registered at the bottom of its own
module in this package (`hf`, `fast`, `openai`, `vllm`): a new backend is one new module here. A
user's own factory is named `module:object` in a recipe (`backend: my_pkg.gen:factory`), or added with
`register_backend("name", factory)`, also as a lazy `"module:object"` string imported only when that
backend is chosen. Backend modules import their heavy libraries (vLLM) inside the factory, so finding
the registered names never imports them.
"""

from __future__ import annotations

from typing import Any, Callable, Union
from urllib.parse import urlsplit, urlunsplit

from ..core.protocols import Generator
from ..core.registry import Registry

BackendFactory = Callable[[Any, Any, Any], Generator]

BACKENDS: Registry[BackendFactory] = Registry("backend", package="selftaught.models")


def register_backend(name: str, factory: Union[BackendFactory, str]) -> None:
    """Add a backend: a factory `(cfg, model, tokenizer) -> Generator`, or its `"module:function"` name
    (a thin alias of `BACKENDS.register`)."""
    BACKENDS.register(name, factory)


def build_generator(cfg: Any, model: Any = None, tokenizer: Any = None) -> Generator:
    """The generator `cfg.backend` names; `model`/`tokenizer` reuse an already loaded model (hf)."""
    return BACKENDS.get(cfg.backend)(cfg, model, tokenizer)


def generator_source(generator: Any) -> dict[str, Any]:
    """Which backend (and, for servers, which URLs and served model) produced a generator's samples:
    recorded in every round's metrics and every eval's summary.

    >>> from types import SimpleNamespace
    >>> generator_source(SimpleNamespace(backend_name="openai", base_urls=["http://h:1/v1"], model="m"))
    {'backend': 'openai', 'server': 'http://h:1/v1', 'served_model': 'm'}
    """
    out: dict[str, Any] = {"backend": getattr(generator, "backend_name", type(generator).__name__)}
    if getattr(generator, "base_urls", None):
        out["server"] = ", ".join(map(safe_url, generator.base_urls))
        out["served_model"] = getattr(generator, "model", None)
    return out


def safe_url(url: str) -> str:
    """The URL without any user:password part (for logs, errors and records).

    >>> safe_url("http://user:secret@host:8000/v1")
    'http://host:8000/v1'
    """
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
