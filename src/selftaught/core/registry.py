"""One registry type for every kind of extension: strategies, selection rules, scorers, task kinds,
generation backends, trainers.

An extension registers itself by name at the bottom of its own file::

    STRATEGIES.register("best_of_n", (BestOfNConfig, run))

and a registry that knows its package imports every module of that package on the first lookup, so a
new extension is one new file with no edit anywhere else. A user's own extension is named from a
recipe as `package.module:object` (imported only when looked up). Lookups of unknown names raise a
`ConfigError` with the nearest known name and the list of known names.

>>> colours = Registry("colour")
>>> colours.register("red", 1)
1
>>> colours.get("red")
1
>>> colours.get("rde")
Traceback (most recent call last):
...
selftaught.core.errors.ConfigError: unknown colour `rde` (did you mean `red`?); known: red.
>>> colours.check("os.path:join") is None
True
>>> colours["blue"] = 2     # a registry is also a mapping (tests patch it with monkeypatch.setitem)
>>> list(colours), colours.get("green", None)
(['blue', 'red'], None)
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, Iterable, Iterator, TypeVar, overload

from .errors import ConfigError

T = TypeVar("T")
_MISSING = object()


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """` (did you mean `x`?)` for the choice nearest to `name`, or "" when none is near.

    >>> did_you_mean("temprature", ["temperature", "top_p"])
    ' (did you mean `temperature`?)'
    >>> did_you_mean("zzz", ["temperature"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def import_object(spec: str, kind: str = "object") -> object:
    """The object a `package.module:object` string names; a ConfigError says why it cannot be imported.

    >>> import_object("os.path:join").__name__
    'join'
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"{kind} `{spec}`: expected `package.module:object`.")
    try:
        obj = importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"{kind} `{spec}`: cannot import module `{module}` ({e}).") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{kind} `{spec}`: module `{module}` has no `{attr}`.")
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Named extensions of one kind (`kind` names it in messages, e.g. "selection rule").

    `package`: the package whose modules register into this registry; all of them are imported on the
    first lookup (so registration happens at the bottom of each extension's own file).
    An entry may be a lazy `"module:object"` string, imported when first looked up (heavy optional
    dependencies such as vLLM stay unimported until chosen).
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T | str] = {}
        self._discovered = package is None

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T | str) -> T | str: ...

    def register(self, name, obj=None):
        """Add `obj` under `name` (returns it); without `obj`, a decorator."""
        if obj is None:
            def deco(o: T) -> T:
                self._items[name] = o
                return o
            return deco
        self._items[name] = obj
        return obj

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")

    def names(self) -> list[str]:
        """The registered names, sorted (registration order depends on which module was imported first)."""
        self._discover()
        return sorted(self._items)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __setitem__(self, name: str, obj: T | str) -> None:
        self.register(name, obj)

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def check(self, name: str) -> str | None:
        """None when `name` is registered or names a `module:object` that imports; else the message."""
        try:
            self.get(name)
        except ConfigError as e:
            return str(e)
        return None

    def get(self, name: str, default: object = _MISSING) -> T:
        """The extension registered as `name`, or the `module:object` it names (`default`, when given,
        for a name that is neither)."""
        if default is not _MISSING and name not in self.names() and ":" not in name:
            return default  # type: ignore[return-value]
        if name in self.names():
            obj = self._items[name]
            if isinstance(obj, str) and ":" in obj:
                obj = import_object(obj, self.kind)
                self._items[name] = obj
            return obj  # type: ignore[return-value]
        if ":" in name:
            return import_object(name, self.kind)  # type: ignore[return-value]
        known = ", ".join(self.names())
        raise ConfigError(f"unknown {self.kind} `{name}`{did_you_mean(name, self.names())}; known: {known}.")

    def name_of(self, obj: object) -> str | None:
        """The name `obj` is registered under (None: not registered)."""
        for name in self.names():
            if self._items[name] is obj:
                return name
        return None
