"""`selftaught config [PREFIX]`: every recipe key with its type, default and description.

The rows come from the config's own field declarations (`core.config_doc.key_rows`, which also renders
docs/config.md), so this list cannot drift from what a recipe accepts. PREFIX keeps the keys under a
section or starting with it (`train.`, `train.lora`, `sampling.temp`); a prefix that matches nothing
names the nearest sections and exits 2. Registered in cli/main.py with one line.
"""

from __future__ import annotations

import difflib
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ..core.errors import ConfigError
from .common import console, user_errors


@user_errors
def config(prefix: Optional[str] = typer.Argument(None, help="Show only keys starting with this, e.g. train. "
                                                  "or sampling.temperature.")) -> None:
    """List every recipe key with its type, default and description (the text of docs/config.md)."""
    from ..core.config_doc import key_rows

    rows = key_rows()
    if prefix:
        rows = [r for r in rows if r[0].startswith(prefix)]
    if not rows:
        keys = [r[0] for r in key_rows()]
        close = difflib.get_close_matches(prefix.rstrip("."), keys, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        sections = sorted({k.split(".")[0] for k in keys if "." in k})
        raise ConfigError(f"no recipe key starts with `{prefix}`.{hint} Sections: {', '.join(sections)} "
                          "(`selftaught config` lists every key).")
    table = Table(title=f"recipe keys{f' starting with {prefix}' if prefix else ''} (set with --set KEY=VALUE)",
                  title_justify="left", show_lines=False)
    table.add_column("key", no_wrap=True, style="bold")
    table.add_column("type")
    table.add_column("default")
    table.add_column("description", ratio=1)
    for key, kind, default, desc in rows:
        table.add_row(*(Text(cell) for cell in (key, kind, default, desc)))  # not rich markup: list[str]
    console.print(table)
