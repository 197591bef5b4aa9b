"""One round's training step, the same code in the loop's process and under `accelerate launch`.

A trainer is a `Trainer` registered in `TRAINERS` at the bottom of its own module (a new trainer is one
new module in this package; a user's own is named `module:object` in train.method). It says which
records it trains on, and `train_round(cfg, ...)` runs the one `cfg.train.method` names:

    sft   selected   selected.jsonl: chat `messages` (the last one the assistant's), trained as prompt/completion,
                     or (prompt format `plain`) `prompt` / `completion` text, trained as it is
    dpo   pairs      pairs.jsonl: `prompt` / `chosen` / `rejected`
    grpo  problems   train_problems.jsonl: Problem records (id, prompt, answer, meta), rewarded through `task`

With `prompt.format` resolving to `plain` (a base model: `tasks.formats`), `selected` and `pairs`
records reach the trainer as text rendered as the backends render prompts for generation (GRPO
renders its problems' prompts itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from ..core.config import Config
from ..core.errors import ConfigError
from ..core.registry import Registry
from ..tasks.formats import plain_record, resolve_prompt_format

RecordKind = Literal["selected", "pairs", "problems"]
RECORD_FILES: dict[str, str] = {"selected": "selected.jsonl", "pairs": "pairs.jsonl",
                                "problems": "train_problems.jsonl"}


@dataclass(frozen=True)
class Trainer:
    """A training method: what it trains on and the function that trains.

    `run(cfg, model, tokenizer, records, device, seed, *, save_dir, log_dir, base_path, task, ref_model)`
    returns (model, TrainResult); `records` are the rows of `RECORD_FILES[records]` (`selected`: SFT chat
    records, `pairs`: DPO prompt/chosen/rejected, `problems`: Problem dicts); `needs_task`: `task` must be
    given (its scorer rewards the completions).
    """

    records: RecordKind
    run: Callable[..., Any]
    needs_task: bool = False

    @property
    def records_file(self) -> str:
        return RECORD_FILES[self.records]


TRAINERS: Registry[Trainer] = Registry("training method", package="selftaught.train")


def trainer_spec(method: str) -> Trainer:
    """The `Trainer` a registered method name or `module:object` names (ConfigError with did-you-mean)."""
    spec = TRAINERS.get(method)
    if not isinstance(spec, Trainer):
        raise ConfigError(f"train.method `{method}`: expected a selftaught.train.round.Trainer, got {spec!r}.")
    return spec


def records_file(method: str) -> str:
    """The round file the trainer `method` reads (selected.jsonl, pairs.jsonl or train_problems.jsonl)."""
    return trainer_spec(method).records_file


def prompt_completion(record: dict[str, Any]) -> dict[str, Any]:
    """SFT `messages` -> TRL prompt/completion, so the loss falls on the completion only (a record
    already in prompt/completion form is kept, less other keys).

    >>> prompt_completion({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    {'prompt': [{'role': 'user', 'content': 'q'}], 'completion': [{'role': 'assistant', 'content': 'a'}]}
    """
    if "messages" not in record:
        return {"prompt": record["prompt"], "completion": record["completion"]}
    messages = record["messages"]
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def train_round(cfg: Config, model, tokenizer, records: list[dict[str, Any]], device: str, seed: int,
                save_dir: str | Path, *, task=None, ref_model=None, log_dir: str | Path | None = None,
                base_path: str | None = None):
    """Train `model` on one round's `records` with `cfg.train.method`; returns (model, TrainResult).

    `task` scores GRPO's completions; `ref_model` is DPO's reference (None: the starting model);
    `base_path` is the starting model's folder (merging LoRA after a multi-process run).
    """
    trainer = trainer_spec(cfg.train.method)
    if trainer.needs_task and task is None:
        raise ValueError(f"{cfg.train.method} training needs the task (its scorer gives the rewards)")
    if trainer.records != "problems" and resolve_prompt_format(cfg.prompt.format, tokenizer) == "plain":
        records = [plain_record(r) for r in records]
    return trainer.run(cfg, model, tokenizer, records, device, seed, save_dir=save_dir, log_dir=log_dir,
                       base_path=base_path, task=task, ref_model=ref_model)
