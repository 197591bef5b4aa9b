"""`selftaught tasks [NAME]`: the reasoning-gym tasks, or one task's options and difficulty levels.

Without NAME: every dataset name usable as `task.name`. With NAME: the fields of the dataset's config
dataclass with their defaults (each settable as `task.options.FIELD`; `seed` and `size` are set by
selftaught), and, where reasoning-gym has a curriculum for it, each difficulty attribute with its value
at every level (what a level sets when a curriculum asks for one). A typo in NAME names the nearest
datasets and exits 2. Registered in cli/main.py with one line.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from .common import console, user_errors


@user_errors
def tasks(name: Optional[str] = typer.Argument(None, help="A task to describe: its options, defaults and levels.")
          ) -> None:
    """List the reasoning-gym tasks usable as task.name, or show one task's options and levels."""
    from ..tasks import list_gym_tasks

    if name is None:
        names = list_gym_tasks()
        console.print(f"{len(names)} reasoning-gym tasks (use as task.name; `selftaught tasks NAME` shows one "
                      "task's options and levels):")
        console.print(", ".join(names), highlight=False)
        return
    from reasoning_gym import factory

    from ..tasks.gym import _RESERVED, _check_name

    _check_name(name)  # ConfigError with the nearest names
    config_cls = factory.DATASETS[name][1]
    console.print(f"[bold]{name}[/] (reasoning-gym {config_cls.__module__}.{config_cls.__name__})", highlight=False)
    console.print(_options_table(name, config_cls, _RESERVED))
    if factory.has_curriculum(name):
        console.print(_levels_table(name, factory.create_curriculum(name)))
    else:
        console.print(f"{name} has no reasoning-gym curriculum: it has no difficulty levels.", highlight=False)


def _options_table(name: str, config_cls: type, reserved: tuple[str, ...]) -> Table:
    table = Table(title="options (set as task.options.KEY)", title_justify="left")
    for column in ("option", "default", "type"):
        table.add_column(column)
    for f in dataclasses.fields(config_cls):
        if f.name in reserved:
            continue
        table.add_row(*(Text(c) for c in (f.name, _default(f), _type(f.type))))
    return table


def _type(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return repr(f.default_factory())  # type: ignore[misc]
    return "(required)"


def _levels_table(name: str, curriculum: Any) -> Table:
    attrs = curriculum.attributes
    top = max(len(a.levels) for a in attrs.values())
    table = Table(title=f"difficulty levels (curriculum of {name}; level L sets each attribute to its value at "
                        "min(L, its last level))", title_justify="left")
    table.add_column("attribute")
    table.add_column("sets options")
    for level in range(top):
        table.add_column(f"level {level}")
    for attr in attrs.values():
        fields = [x for x in (getattr(attr, "lower_field_name", None), getattr(attr, "upper_field_name", None),
                              getattr(attr, "field_name", None)) if x]
        cells = [repr(v) for v in attr.levels] + [""] * (top - len(attr.levels))
        table.add_row(*(Text(c) for c in (f"{attr.name} ({attr.description})", ", ".join(fields), *cells)))
    return table
