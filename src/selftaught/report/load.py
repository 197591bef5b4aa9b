"""Read a run directory into what the report shows: config, one metrics dict a round, a few samples.

Only files are read (config.yaml, rounds/NNN/metrics.json or metrics.jsonl, the last round's
eval_samples.jsonl / eval_scores.jsonl); nothing is imported from the loop, so a report can be made
from a run directory copied off another machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import DataError, SelftaughtError
from ..core.io import read_jsonl


@dataclass
class RunData:
    root: Path
    config_text: str  # config.yaml as written ("" when absent)
    config: dict[str, Any]
    rounds: list[dict[str, Any]]  # metrics.json of each finished round, in round order
    samples: list[dict[str, Any]] = field(default_factory=list)  # a few eval samples with verdicts

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    def values(self, key: str) -> tuple[list[int], list[Any]]:
        """(rounds, values) of `key` over the rounds where it is present and not null."""
        xs, ys = [], []
        for m in self.rounds:
            if m.get(key) is not None:
                xs.append(int(m["round"]))
                ys.append(m[key])
        return xs, ys

    def has(self, key: str) -> bool:
        return any(m.get(key) is not None for m in self.rounds)

    def keys(self) -> list[str]:
        """Every key any round has, in first-seen order."""
        seen: dict[str, None] = {}
        for m in self.rounds:
            seen.update(dict.fromkeys(m))
        return list(seen)


def load_run(run_dir: str | Path, n_samples: int = 3) -> RunData:
    """Everything the report needs from `run_dir`; SelftaughtError when it holds no finished round."""
    root = Path(run_dir)
    if not root.is_dir():
        raise SelftaughtError(f"{root}: no such run directory. Pass the folder `selftaught run` wrote "
                              "(runs/NAME by default).")
    rounds = _read_rounds(root)
    if not rounds:
        raise SelftaughtError(f"{root}: no finished round to report (no rounds/NNN/metrics.json and no "
                              "metrics.jsonl). Is this a run directory, and has round 0 finished?")
    config_text, config = _read_config(root)
    return RunData(root, config_text, config, rounds, _eval_samples(root, rounds[-1], n_samples))


def _read_rounds(root: Path) -> list[dict[str, Any]]:
    """rounds/NNN/metrics.json (authoritative), else the lines of metrics.jsonl."""
    rounds_dir = root / "rounds"
    files = sorted(p / "metrics.json" for p in rounds_dir.iterdir()
                   if p.name.isdigit() and (p / "metrics.json").is_file()) if rounds_dir.is_dir() else []
    if files:
        rows = []
        for f in files:
            try:
                row = json.loads(f.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise DataError(f"{f}: not valid JSON ({e.msg}, line {e.lineno}).") from None
            if not isinstance(row, dict):
                raise DataError(f"{f}: expected a JSON object of metrics.")
            row.setdefault("round", int(f.parent.name))
            rows.append(row)
    elif (root / "metrics.jsonl").is_file():
        rows = read_jsonl(root / "metrics.jsonl")
        for i, row in enumerate(rows):
            row.setdefault("round", i)
    else:
        return []
    return sorted(rows, key=lambda m: int(m["round"]))


def _read_config(root: Path) -> tuple[str, dict[str, Any]]:
    path = root / "config.yaml"
    if not path.is_file():
        return "", {}
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, {}  # still shown verbatim; the header falls back to the folder name
    return text, data if isinstance(data, dict) else {}


def _eval_samples(root: Path, last: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The first `n` held-out samples of the last round, each merged with its score (when stored)."""
    folder = root / "rounds" / f"{int(last['round']):03d}"
    samples_path, scores_path = folder / "eval_samples.jsonl", folder / "eval_scores.jsonl"
    if not samples_path.is_file():
        return []
    samples = read_jsonl(samples_path)[:n]
    scores = read_jsonl(scores_path) if scores_path.is_file() else []
    by_id = {s.get("sample_id"): s for s in scores}
    out = []
    for i, s in enumerate(samples):
        score = by_id.get(s.get("id")) or (scores[i] if i < len(scores) else {})
        out.append({**s, "verdict": score.get("verdict"), "extracted": score.get("extracted")})
    return out


def setting(m: dict[str, Any], name: str) -> Any:
    """The `name` (temperature, threshold) round m sampled with: the controller's choice, else its
    settings; None for a round that sampled nothing (round 0 only evaluates)."""
    value = m.get(f"control/{name}")
    if value is not None:
        return value
    sampled = any(k.startswith("rollout/") for k in m)
    return (m.get("settings") or {}).get(name) if sampled else None


def task_label(config: dict[str, Any]) -> str:
    """The task as a reader would name it: a reasoning-gym name, a file or a callable."""
    task = config.get("task") or {}
    label = task.get("name") or task.get("path") or task.get("callable") or _mixture_label(task) or "?"
    options = task.get("options")
    return f"{label} {_compact(options)}" if options else str(label)


def _mixture_label(task: dict[str, Any]) -> str | None:
    """`mixture of a, b (weights 2:1)` for a task.mixture, from its entries' label / name / path / callable."""
    entries = task.get("mixture") or []
    names = [e.get("label") or e.get("name") or e.get("path") or e.get("callable") or "?" for e in entries]
    weights = ":".join(f"{e.get('weight', 1.0):g}" for e in entries)
    return f"mixture of {', '.join(map(str, names))} (weights {weights})" if entries else None


def _compact(obj: Any) -> str:
    return re.sub(r"\s+", " ", json.dumps(obj, separators=(", ", ": ")))
