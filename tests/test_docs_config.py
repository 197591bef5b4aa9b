"""docs/config.md is rendered from the config's field descriptions and must match them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from selftaught.core.config import Config
from selftaught.core.config_doc import COMMAND, render_config_doc, sections

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def test_docs_config_md_is_current():
    rendered = render_config_doc()
    on_disk = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    if on_disk != rendered:  # pytest.fail: the message, not a 200-line diff
        pytest.fail(f"docs/config.md is stale; regenerate it from the repository root: {COMMAND}", pytrace=False)


def test_every_config_field_has_a_description():
    missing = [f"{s.path + '.' if s.path else ''}{name}" for s in sections(Config)
               for name, field in s.model.model_fields.items() if not (field.description or "").strip()]
    assert not missing, f"fields without Field(description=...): {missing}"


class _Inner(BaseModel):
    depth: int = Field(3, ge=1, description="How deep.")


class _OptA(BaseModel):
    alpha: float = Field(0.5, gt=0.0, le=1.0, description="A's knob.")


class _OptB(BaseModel):
    beta: list[str] = Field(default_factory=lambda: ["x"], description="B's names.")


class _Toy(BaseModel):
    mode: Literal["a", "b"] = Field("a", description="Which | mode.")
    limit: Optional[int] = Field(None, description="A limit.")
    table: dict[str, Any] = Field(default_factory=dict, description="Free options.")
    inner: _Inner = Field(default_factory=_Inner, description="A nested section.")
    maybe: Optional[_Inner] = Field(None, description="An optional section.")
    many: list[_Inner] = Field(default_factory=list, description="A list of sections.")
    named: dict[str, _OptA] = Field(default_factory=dict, description="Sections by name.")
    options: _OptA | _OptB = Field(default_factory=_OptA, description="One of two option models.")
    needed: str = Field(description="No default.")


def test_render_walks_nested_optional_list_dict_and_union_sections():
    paths = [s.path for s in sections(_Toy)]
    assert paths == ["", "inner", "maybe", "many[]", "named.NAME", "options (_OptA)", "options (_OptB)"]
    text = render_config_doc(_Toy)
    assert "| `mode` | `a` \\| `b` | `a` | Which \\| mode. |" in text
    assert "| `limit` | int \\| null | `null` | A limit. |" in text
    assert "| `table` | dict[str, any] | `{}` | Free options. |" in text
    assert "| `needed` | str | required | No default. |" in text
    assert "| `inner.depth` | int, >= 1 | `3` | How deep. |" in text
    assert "| `named.NAME.alpha` | float, > 0.0, <= 1.0 | `0.5` | A's knob. |" in text
    assert "| `options (_OptB).beta` | list[str] | `[\"x\"]` | B's names. |" in text
    assert "## many[]" in text and "## maybe" in text
