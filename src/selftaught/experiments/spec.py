"""What a comparison runs: a recipe, shared overrides, named variants (each a list of `key=value`
overrides), seeds and a baseline variant; checked whole before any cell starts.

A spec comes from the command line (`--vary key=v1,v2` gives one variant a value, several `--vary`
their product) or from a YAML file:

    recipe: recipes/default.yaml      # a path (the CLI also accepts a recipe name)
    overrides: [task.n_train=32]      # applied to every variant
    variants:                         # name: overrides (a list of key=value, or a mapping)
      rft: [loop.kind=rft]
      bstar: {loop.kind: bstar}
    seeds: 5                          # seeds 0..4, or a list such as [0, 3, 7]
    baseline: rft                     # default: the first variant

The folder keeps the spec and every variant's resolved config in compare.yaml; a rerun with a changed
spec (or a recipe that now resolves differently) is refused with the changed keys listed.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.config import Config, load_config
from ..core.errors import ConfigError
from ..core.io import atomic_write_text


@dataclass
class CompareSpec:
    recipe: str | None  # a recipe file (None: the built-in defaults)
    variants: dict[str, list[str]]
    seeds: list[int]
    overrides: list[str] = field(default_factory=list)
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.baseline is None and self.variants:
            self.baseline = next(iter(self.variants))

    def cell_overrides(self, variant: str, seed: int) -> list[str]:
        return [*self.overrides, *self.variants[variant], f"seed={seed}"]

    def config(self, variant: str, seed: int) -> Config:
        return load_config(self.recipe, self.cell_overrides(variant, seed))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _override_list(name: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [f"{k}={_value_text(v)}" for k, v in raw.items()]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    raise ConfigError(f"variant {name!r}: overrides must be a list of key=value strings or a mapping, got {raw!r}.")


def parse_seeds(raw: Any) -> list[int]:
    """`5` -> seeds 0..4; a list of ints stays; anything under one seed is an error."""
    if isinstance(raw, bool) or not isinstance(raw, (int, list)):
        raise ConfigError(f"seeds: expected a number of seeds (e.g. 5) or a list of seeds, got {raw!r}.")
    if isinstance(raw, int):
        if raw < 1:
            raise ConfigError(f"seeds: a comparison needs at least 1 seed, got {raw}. Use e.g. --seeds 5.")
        return list(range(raw))
    if not raw or not all(isinstance(s, int) and not isinstance(s, bool) for s in raw) or len(set(raw)) != len(raw):
        raise ConfigError(f"seeds: expected a non-empty list of distinct integers, got {raw!r}.")
    return list(raw)


def variants_from_vary(vary: list[str]) -> dict[str, list[str]]:
    """`--vary loop.kind=rft,bstar --vary sampling.temperature=0.7,1.0` -> the product, named by value."""
    axes = []
    for text in vary:
        if "=" not in text or not text.split("=", 1)[1].strip():
            raise ConfigError(f"--vary {text!r}: expected key=value1,value2,... e.g. --vary loop.kind=rft,bstar.")
        key, values = text.split("=", 1)
        axes.append([(key.strip(), v.strip()) for v in values.split(",")])
    out: dict[str, list[str]] = {}
    for combo in itertools.product(*axes):
        if len(combo) == 1:
            name = combo[0][1]
        else:
            name = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in combo)
        if name in out:
            raise ConfigError(f"--vary: variant {name!r} appears twice; give each value once.")
        out[name] = [f"{k}={v}" for k, v in combo]
    return out


def spec_from_yaml(path: str | Path, resolve_recipe=None) -> CompareSpec:
    """Read a spec file (format in this module's docstring); `resolve_recipe(name)` maps a name to a path."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Spec file {p} not found.")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    known = {"recipe", "overrides", "variants", "seeds", "baseline"}
    if not isinstance(data, dict) or set(data) - known:
        extra = sorted(set(data) - known) if isinstance(data, dict) else []
        raise ConfigError(f"{p}: a spec is a mapping with keys {', '.join(sorted(known))}"
                          + (f"; unknown: {', '.join(extra)}." if extra else "."))
    variants = data.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise ConfigError(f"{p}: `variants` must map each variant name to its overrides, e.g. rft: [loop.kind=rft].")
    recipe = data.get("recipe")
    if recipe is not None and resolve_recipe is not None:
        recipe = str(resolve_recipe(str(recipe)))
    return CompareSpec(recipe=recipe, variants={str(k): _override_list(str(k), v) for k, v in variants.items()},
                       seeds=parse_seeds(data.get("seeds", 1)),
                       overrides=_override_list("overrides", data.get("overrides")), baseline=data.get("baseline"))


def check_spec(spec: CompareSpec) -> dict[str, dict[str, Any]]:
    """Validate every variant's full config (unknown keys, bad values) and the spec's shape.

    Returns each variant's resolved config as a dict (seed left out). Raises ConfigError naming the
    variant and the problem before any cell starts.
    """
    if not spec.variants:
        raise ConfigError("A comparison needs at least one variant (--vary key=v1,v2 or `variants:` in a spec file).")
    parse_seeds(spec.seeds)
    if spec.baseline not in spec.variants:
        raise ConfigError(f"baseline {spec.baseline!r} is not a variant; variants: {', '.join(spec.variants)}.")
    resolved: dict[str, dict[str, Any]] = {}
    for name in spec.variants:
        if not cell_dirname(name):
            raise ConfigError(f"variant name {name!r} gives no usable folder name; use letters, digits, . _ - =.")
        try:
            cfg = spec.config(name, spec.seeds[0])
        except ConfigError as e:
            raise ConfigError(f"variant {name!r} ({' '.join(spec.variants[name]) or 'no overrides'}): {e}") from None
        data = cfg.model_dump(mode="json")
        data.pop("seed")
        for other, seen in resolved.items():
            if seen == data:
                raise ConfigError(f"variants {other!r} and {name!r} resolve to the same config: they would run the "
                                  "same thing twice. Give each variant a different override (or drop one).")
        resolved[name] = data
    dirs = [cell_dirname(n) for n in spec.variants]
    if len(set(dirs)) != len(dirs):
        raise ConfigError(f"variant names {', '.join(spec.variants)} map to the same folder; rename them.")
    return resolved


def cell_dirname(variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "_", variant).strip("._")


def store_or_check(folder: Path, spec: CompareSpec, resolved: dict[str, dict[str, Any]]) -> None:
    """Write folder/compare.yaml, or refuse when the one there differs (changed keys listed)."""
    path = folder / "compare.yaml"
    new = {"spec": spec.as_dict(), "configs": resolved}
    new = yaml.safe_load(yaml.safe_dump(new, sort_keys=False))
    if path.exists():
        old = yaml.safe_load(path.read_text()) or {}
        if old != new:
            changed = diff_keys(old, new)
            raise ConfigError(f"{folder} holds a comparison with a different spec (changed: {', '.join(changed)}). "
                              "Rerun with the same spec to resume it, or choose another --out folder.")
        return
    atomic_write_text(path, yaml.safe_dump(new, sort_keys=False))


def load_stored(folder: Path) -> tuple[CompareSpec, dict[str, dict[str, Any]]]:
    """The spec and the variants' resolved configs kept in folder/compare.yaml."""
    path = folder / "compare.yaml"
    if not path.exists():
        raise ConfigError(f"{folder} has no compare.yaml: not a folder written by `selftaught compare`.")
    data = yaml.safe_load(path.read_text()) or {}
    return CompareSpec(**(data.get("spec") or {})), data.get("configs") or {}


def diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in list(dict.fromkeys([*old, *new])):
            out += diff_keys(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]
