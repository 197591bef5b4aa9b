"""The configuration reference (docs/config.md), rendered from the recipe config's field descriptions.

Every recipe key is declared once, with its description, in `core/config.py`; this module turns those
declarations into Markdown, one table per section, so the reference cannot drift from the code.
Regenerate it after changing a field::

    python -m selftaught.core.config_doc > docs/config.md

(`tests/test_docs_config.py` fails when docs/config.md differs from what this renders.) Nested sections
are found by walking the annotations, so a new section, an optional section, a list or a dict of
sections, or a union of option models each get their own table without an edit here.

>>> from typing import Literal, Optional
>>> type_text(Literal["a", "b"])
'`a` \\\\| `b`'
>>> type_text(Optional[list[int]])
'list[int] \\\\| null'
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

COMMAND = "python -m selftaught.core.config_doc > docs/config.md"

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="),
           ("max_length", "length <="))


@dataclass
class Section:
    """One table of the reference: the key path (`train.lora`), its model and the text above it."""

    path: str
    model: type[BaseModel]
    about: str


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def type_text(tp: Any) -> str:
    """A short Markdown rendering of an annotation (`|` escaped for a table cell)."""
    origin = typing.get_origin(tp)
    if tp is type(None) or tp is None:
        return "null"
    if tp is Any:
        return "any"
    if origin is typing.Annotated:
        return type_text(_args(tp)[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{_value_text(v)}`" for v in _args(tp))
    if _is_union(tp):
        parts = sorted(_args(tp), key=lambda a: a is type(None))  # null last
        return " \\| ".join(type_text(a) for a in parts)
    if _is_model(tp):
        return "section"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_text(a) for a in _args(tp))}]" if _args(tp) else name
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, BaseModel):
        return "(section)"
    try:
        return json.dumps(value)
    except TypeError:
        return str(value)


def default_text(field: FieldInfo) -> str:
    """The field's default as a recipe would write it (`null`, `true`, `[0.5, 0.7]`), or `required`."""
    if field.default is not PydanticUndefined:
        return f"`{_value_text(field.default)}`"
    factory = field.default_factory
    if factory is None:
        return "required"
    if _is_model(factory):
        return "-"
    try:
        value = factory()  # type: ignore[call-arg]
    except TypeError:  # a factory that takes the validated data
        return "(computed)"
    return f"`{_value_text(value)}`"


def bounds_text(field: FieldInfo) -> str:
    """`>= 1`, `> 0.0, <= 1.0`, ... from the field's constraints ("" when it has none)."""
    found = []
    for meta in field.metadata:
        for attr, sign in _BOUNDS:
            value = getattr(meta, attr, None)
            if value is not None:
                found.append(f"{sign} {value}")
    return ", ".join(found)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def nested_models(tp: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models an annotation holds, each with the key suffix that reaches it ("", "[]", ".NAME")."""
    origin = typing.get_origin(tp)
    if _is_model(tp):
        return [("", tp)]
    if origin is typing.Annotated:
        return nested_models(_args(tp)[0])
    if _is_union(tp):
        return [hit for a in _args(tp) for hit in nested_models(a)]
    if origin in (list, tuple, set, frozenset, typing.Sequence):
        return [("[]" + suffix, m) for a in _args(tp) if a is not Ellipsis for suffix, m in nested_models(a)]
    if origin is dict or origin is typing.Mapping:
        return [(".NAME" + suffix, m) for suffix, m in nested_models(_args(tp)[-1])] if _args(tp) else []
    return []


def sections(model: type[BaseModel], path: str = "", about: str = "",
             _outer: tuple[type, ...] = ()) -> list[Section]:
    """`model` and every section under it, depth first, in declaration order (a model that contains
    itself is listed once)."""
    found = [Section(path, model, about)]
    for name, field in model.model_fields.items():
        hits = nested_models(field.annotation)
        for suffix, sub in hits:
            if sub in _outer or sub is model:
                continue
            key = f"{path}.{name}" if path else name
            label = key + suffix + (f" ({sub.__name__})" if len(hits) > 1 else "")
            found += sections(sub, label, field.description or "", (*_outer, model))
    return found


def _doc(model: type[BaseModel]) -> str:
    text = model.__dict__.get("__doc__") or ""
    return " ".join(text.split())


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def section_rows(section: Section) -> list[tuple[str, str, str, str, bool]]:
    """(key, type, default, description, is a section) for each of a section's own keys, as Markdown cells."""
    rows = []
    for name, field in section.model.model_fields.items():
        key = f"{section.path}.{name}" if section.path else name
        kind = type_text(field.annotation)
        bounds = bounds_text(field)
        kind = f"{kind}, {bounds}" if bounds else kind
        hits = nested_models(field.annotation)
        rows.append((key, kind, default_text(field), _cell(field.description or "(no description)"),
                     len(hits) == 1 and not hits[0][0]))
    return rows


def key_rows(model: type[BaseModel] | None = None) -> list[tuple[str, str, str, str]]:
    """Every key of the recipe config, sections included, as plain text (key, type, default, description):
    what `selftaught config` prints."""
    if model is None:
        from .config import Config as model  # noqa: N813 - the default model

    def plain(text: str) -> str:
        return text.replace("\\|", "|").replace("`", "")

    return [(key, plain(kind), plain(default), plain(desc))
            for section in sections(model) for key, kind, default, desc, _ in section_rows(section)]


def section_table(section: Section) -> list[str]:
    """The Markdown table of a section's own keys (its sub-sections get their own tables)."""
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, kind, default, desc, is_section in section_rows(section):
        link = f" (see [{key}](#{slug(key)}))" if is_section else ""
        lines.append(f"| `{key}` | {kind} | {default} | {desc}{link} |")
    return lines


def render_config_doc(model: type[BaseModel] | None = None) -> str:
    """docs/config.md: every section of the recipe config, each key with type, default and description."""
    if model is None:
        from .config import Config as model  # noqa: N813 - the default model
    all_sections = sections(model)
    out = ["# Configuration reference", "",
           f"<!-- Generated from src/selftaught/core/config.py by `{COMMAND}`; do not edit by hand. -->", "",
           "Every key a recipe (`recipes/*.yaml`) can set, with its type, default and description, as declared "
           "in `src/selftaught/core/config.py`. Any key can be overridden from the command line: "
           "`selftaught run --set loop.rounds=3 --set sampling.temperature=0.9`. An unknown key is an error "
           "that names the nearest valid one.", "",
           f"Regenerate this file after changing a field: `{COMMAND}`.", "",
           "Sections: " + ", ".join(f"[{s.path}](#{slug(s.path)})" for s in all_sections if s.path), ""]
    for section in all_sections:
        out += [f"## {section.path or 'Top-level keys'}", ""]
        about = " ".join(x for x in (section.about.strip(), _doc(section.model)) if x)
        if about:
            out += [about, ""]
        out += section_table(section) + [""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - the command named above
    sys.stdout.write(render_config_doc())
