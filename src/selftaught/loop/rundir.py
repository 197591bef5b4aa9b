"""The run directory: every round's files, written atomically, and what a resume can trust.

    runs/NAME/config.yaml                 the resolved config, as run
    runs/NAME/rounds/003/samples.jsonl    training attempts      scores.jsonl   their verdicts
                         selected.jsonl   training records       eval_samples.jsonl / eval_scores.jsonl
                         train.json       trainer log            metrics.json   the round's metrics
                         checkpoint/      the round's model (save_pretrained)
                         control.json (bstar), rationale_*.jsonl, probe_*.jsonl, pairs.jsonl (dpo),
                         revision_*.jsonl (dpo, select.pairs), train_problems.jsonl (grpo),
                         failures.jsonl, synth_*.jsonl, synth.jsonl (synthesis): when the config asks for
                         them; curriculum.json (the curriculum's state after the round),
                         judgments.jsonl (select.rule judge), step_labels.jsonl (verifier.step_labels),
                         verifier/, prm/, verifier_scores.jsonl (verifier.kinds)
    runs/NAME/judge/                      `selftaught judge-train`: the same layout for a judge's rounds
    runs/NAME/metrics.jsonl               one line a finished round, rebuilt from the metrics.json files

A round is finished when its metrics.json exists; a step is finished when its file exists (files are
only ever renamed into place, so a file that exists is whole). A run directory in which no step has
finished (a run that stopped before writing anything, say a model the backend refused) holds nothing a
changed config could contradict, so it accepts one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from ..core.config import Config, dump_config
from ..core.errors import SelftaughtError
from ..core.io import atomic_write_text, read_jsonl, write_json, write_jsonl


# Keys whose change does not alter what a finished round means: a run may continue with new values.
CONTINUABLE = ("loop.rounds", "judge.rounds", "name", "threads", "loop.keep_checkpoints", "train.report_to", "server.base_urls",
               "server.api_key_env", "server.max_concurrency", "server.timeout_s", "server.max_retries",
               "server.backoff_s", "server.reload_command", "server.reload_timeout_s", "server.connect_timeout_s",
               "server.deadline_s", "server.follows_checkpoints")


class RunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.notes: list[str] = []  # what prepare() accepted as changed (the loop prints them)

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.jsonl"

    def round_dir(self, index: int) -> Path:
        return self.root / "rounds" / f"{index:03d}"

    def path(self, index: int, name: str) -> Path:
        return self.round_dir(index) / name

    def has(self, index: int, name: str) -> bool:
        return self.path(index, name).exists()

    def checkpoint(self, index: int) -> Path:
        return self.path(index, "checkpoint")

    def prepare(self, cfg: Config, fresh: bool) -> bool:
        """Create or reopen the run directory; True when resuming an earlier run.

        A resume must use the same config, except keys that do not change what finished rounds mean
        (`CONTINUABLE`: more `loop.rounds` extends a finished run; `threads`, server timeouts, ...): any
        other change is an error (use --fresh or another --run-dir), so files from two configs never mix.
        Where no step has finished yet (`has_results` is False), any new config replaces the old one, with a note.
        """
        if self.root.exists() and not self.root.is_dir():
            raise SelftaughtError(f"--run-dir {self.root} is a file, not a directory; choose another --run-dir.")
        text = dump_config(cfg)
        if self.config_path.exists() and not fresh:
            old, new = self._old_config(), yaml.safe_load(text)
            if old != new and not self.has_results():
                self.notes.append(f"{self.root} has no finished step yet; its config is replaced "
                                  f"(changed: {', '.join(_diff_keys(old, new))})")
                atomic_write_text(self.config_path, text)
                return False
            if old != new:
                changed = _diff_keys(old, new)
                refused = [k for k in changed if not _continuable(k, old, new)]
                if refused:
                    raise SelftaughtError(
                        f"{self.root} holds a run with a different config (changed: {', '.join(refused)}). "
                        "Rerun with --fresh to start over there, or choose another --run-dir. Only these keys "
                        f"may change on a resume: {', '.join(CONTINUABLE)} (loop.rounds may only grow).")
                atomic_write_text(self.config_path, text)
                self.notes.append(f"continuing {self.root} with changed {', '.join(changed)}")
            return True
        if fresh and self.root.exists():
            for name in ("rounds", "metrics.jsonl", "report.html", "config.yaml", "demos.jsonl", "failures.jsonl"):
                target = self.root / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, text)
        return False

    def _old_config(self) -> dict[str, Any]:
        """The run's config.yaml, as this version would write it; a clear error when it is unreadable."""
        try:
            old = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise SelftaughtError(f"{self.config_path} is not valid YAML ({str(e).splitlines()[0]}); this run "
                                  "directory's config was damaged. Rerun with --fresh or choose another --run-dir.") from None
        if not isinstance(old, dict) or not old:
            raise SelftaughtError(f"{self.config_path} is empty or not a mapping of keys; this run directory's "
                                  "config was damaged. Rerun with --fresh or choose another --run-dir.")
        return _as_current(old)

    def has_results(self) -> bool:
        """Whether any step has written a file under rounds/ (samples, scores, eval, metrics, a checkpoint)."""
        rounds = self.root / "rounds"
        return rounds.exists() and any(p.is_file() for p in rounds.rglob("*"))

    def finished_rounds(self) -> list[int]:
        rounds = self.root / "rounds"
        if not rounds.exists():
            return []
        return sorted(int(p.name) for p in rounds.iterdir()
                      if p.name.isdigit() and (p / "metrics.json").exists())

    def write_records(self, index: int, name: str, records) -> None:
        write_jsonl(self.path(index, name), records)

    def read_records(self, index: int, name: str) -> list[dict[str, Any]]:
        return read_jsonl(self.path(index, name))

    def write_metrics(self, index: int, metrics: dict[str, Any]) -> None:
        """metrics.json for the round (this marks it finished), then rebuild metrics.jsonl."""
        write_json(self.path(index, "metrics.json"), metrics)
        lines = [json.loads(self.path(i, "metrics.json").read_text()) for i in self.finished_rounds()]
        atomic_write_text(self.metrics_path, "".join(json.dumps(m) + "\n" for m in lines))

    def all_metrics(self) -> list[dict[str, Any]]:
        return [json.loads(self.path(i, "metrics.json").read_text()) for i in self.finished_rounds()]

    def prune_checkpoints(self, keep: int) -> None:
        """Delete every round checkpoint but `keep`'s (keep_checkpoints: last)."""
        for p in (self.root / "rounds").glob("*/checkpoint"):
            if int(p.parent.name) != keep:
                shutil.rmtree(p)


def _as_current(old: Any) -> Any:
    """An earlier run's config as this version writes it: keys added since then take their defaults,
    so a resume is not refused over a key the old run never had (an old key that no longer exists
    stays, and shows up as changed)."""
    from pydantic import ValidationError

    try:
        return yaml.safe_load(dump_config(Config.model_validate(old)))
    except ValidationError:
        return old


def _continuable(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A changed key a resume accepts: one of CONTINUABLE, and loop.rounds only upwards."""
    if key in ("loop.rounds", "judge.rounds"):
        section = key.split(".")[0]
        return (new.get(section) or {}).get("rounds", 0) >= (old.get(section) or {}).get("rounds", 0)
    return key in CONTINUABLE


def _diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _diff_keys(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]
