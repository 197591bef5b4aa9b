"""Which model a command uses: a run directory's round (its checkpoint, config and task) or a model folder.

`open_source(target, round_spec)` accepts a run directory (`config.yaml` + `rounds/`) or anything
`resolve_model` takes (a model folder, a Hub id, `default`). Round 0 of a run is its base model; round
N >= 1 its `rounds/NNN/checkpoint`, which `loop.keep_checkpoints: last` deletes once a later round finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..core.config import Config, load_config
from ..core.errors import SelftaughtError


@dataclass
class ModelSource:
    """A model to use, and what is known about where it came from."""

    path: str  # a folder `from_pretrained` loads
    cfg: Config  # the run's config (or a recipe's, or the defaults) with `model` set to `path`
    task: Any = None  # the run's task (prompts with its system prompt and worked examples), None: plain question
    run_dir: Path | None = None
    round: int | None = None

    @property
    def label(self) -> str:
        return f"{self.run_dir} round {self.round}" if self.run_dir is not None else self.path


def is_run_dir(path: str | Path) -> bool:
    """A folder the loop wrote: it has `config.yaml` or `rounds/` (and is not a model folder)."""
    p = Path(path)
    return p.is_dir() and not (p / "config.json").exists() and ((p / "config.yaml").exists() or (p / "rounds").is_dir())


def run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> Config:
    """The run's config.yaml (as run), with `key=value` overrides (device=cpu, backend=hf, ...)."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise SelftaughtError(f"{run_dir} has no config.yaml, so it is not a run directory `selftaught run` wrote "
                              "(or its config was deleted). Pass a run directory or a model folder.")
    return load_config(path, list(overrides))


def finished_rounds(run_dir: str | Path) -> list[int]:
    """Rounds whose metrics.json exists (a finished round), in order."""
    rounds = Path(run_dir) / "rounds"
    if not rounds.is_dir():
        return []
    return sorted(int(p.name) for p in rounds.iterdir() if p.name.isdigit() and (p / "metrics.json").exists())


def pick_round(run_dir: str | Path, round_spec: str | int = "latest") -> int:
    """The round `round_spec` names (`latest`: the last finished one); an error for an unfinished round."""
    done = finished_rounds(run_dir)
    if not done:
        raise SelftaughtError(f"{run_dir} has no finished round yet (no rounds/NNN/metrics.json); run "
                              "`selftaught run` until round 0 finishes, or pass a model folder.")
    if str(round_spec) == "latest":
        return done[-1]
    try:
        index = int(round_spec)
    except ValueError:
        raise SelftaughtError(f"--round {round_spec!r}: expected a round number or `latest`.") from None
    if index not in done:
        raise SelftaughtError(f"--round {index}: {run_dir} has no finished round {index}; finished rounds: "
                              f"{', '.join(map(str, done))} (or `latest`).")
    return index


def round_model(run_dir: str | Path, cfg: Config, index: int) -> str:
    """The model folder of round `index`: the base model for 0, else the round's checkpoint."""
    from ..models import resolve_model

    if index == 0:
        return resolve_model(cfg.model)
    checkpoint = Path(run_dir) / "rounds" / f"{index:03d}" / "checkpoint"
    if not checkpoint.is_dir():
        kept = [i for i in finished_rounds(run_dir) if i == 0 or (Path(run_dir) / "rounds" / f"{i:03d}" / "checkpoint").is_dir()]
        raise SelftaughtError(
            f"round {index}'s checkpoint was deleted ({checkpoint} is gone): the run kept only its last round's "
            f"model (loop.keep_checkpoints: last). Rounds with a model here: {', '.join(map(str, kept))}. To keep "
            "every round's model, run with `--set loop.keep_checkpoints=all`.")
    return str(checkpoint)


def round_metrics(run_dir: str | Path, index: int) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "rounds" / f"{index:03d}" / "metrics.json").read_text())


def open_source(target: str | Path, round_spec: str | int = "latest", overrides: Sequence[str] = (),
                recipe_cfg: Config | None = None, with_task: bool = True) -> ModelSource:
    """The model `target` names, with the config and task that prompt it.

    A run directory: round `round_spec`'s model, the run's config (with `overrides`) and task. A model
    folder / Hub id / `default`: `recipe_cfg`'s task prompts it when given (its model replaced), else the
    question is asked bare (the default system instruction, no worked examples); `round_spec` must be latest.
    """
    from ..models import resolve_model

    if is_run_dir(target):
        cfg = run_config(target, overrides)
        index = pick_round(target, round_spec)
        path = round_model(target, cfg, index)
        return ModelSource(path, cfg.model_copy(update={"model": path}), _task(cfg, target) if with_task else None,
                           Path(target), index)
    if str(round_spec) != "latest":
        raise SelftaughtError(f"--round applies to a run directory; {target} is a model, not a run directory.")
    path = resolve_model(str(target))
    if recipe_cfg is not None:
        cfg = recipe_cfg.model_copy(update={"model": path})
        return ModelSource(path, cfg, _task(cfg, None) if with_task else None)
    return ModelSource(path, _bare_config(path, overrides), None)


def _bare_config(path: str, overrides: Sequence[str]) -> Config:
    """Default settings (backend, device, dtype, prompt format) for a bare model, with `overrides`."""
    from pydantic import ValidationError

    from ..core.config import apply_overrides

    try:
        return Config.model_validate(apply_overrides({"model": path}, list(overrides)))
    except ValidationError as e:
        raise SelftaughtError(f"--set: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None


def _task(cfg: Config, run_dir: str | Path | None):
    """The config's task; with `task.demos: self`, given the run's own demonstrations (demos.jsonl)."""
    from ..core.io import read_jsonl
    from ..tasks import build_task

    task = build_task(cfg.task)
    demos = Path(run_dir) / "demos.jsonl" if run_dir is not None else None
    if cfg.task.demos == "self" and demos is not None and demos.exists() and hasattr(task, "set_examples"):
        task.set_examples([(r["question"], r["worked"]) for r in read_jsonl(demos)])
    return task
