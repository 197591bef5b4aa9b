"""One round's training step, the same code in the loop's process and under `accelerate launch`.

`train_round(cfg, ...)` picks the trainer from `cfg.train.method` and the records' form:

    sft   selected.jsonl: chat `messages` (the last one the assistant's), trained as prompt/completion,
          or (prompt format `plain`) `prompt` / `completion` text, trained as it is
    dpo   pairs.jsonl: `prompt` / `chosen` / `rejected`
    grpo  train_problems.jsonl: Problem records (id, prompt, answer, meta), rewarded through `task`

With `prompt.format` resolving to `plain` (a base model: `tasks.formats`), every record reaches the
trainer as text rendered as the backends render prompts for generation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.config import Config
from ..core.records import Problem, from_dict
from ..tasks.formats import plain_record, resolve_prompt_format

RECORDS_FILE = {"sft": "selected.jsonl", "dpo": "pairs.jsonl", "grpo": "train_problems.jsonl"}


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
    from .. import train as pkg  # looked up at call time, so tests can wrap the trainers

    method = cfg.train.method
    plain = resolve_prompt_format(cfg.prompt.format, tokenizer) == "plain"
    common = dict(save_dir=save_dir, log_dir=log_dir, base_path=base_path)
    if method == "sft":
        records = [prompt_completion(plain_record(r) if plain else r) for r in records]
        return pkg.train_sft(model, tokenizer, records, cfg.train, device, seed, **common)
    if method == "dpo":
        records = [plain_record(r) for r in records] if plain else records
        return pkg.train_dpo(model, tokenizer, records, cfg.train, device, seed, ref_model=ref_model, **common)
    if method == "grpo":
        if task is None:
            raise ValueError("grpo training needs the task (its scorer gives the rewards)")
        problems = [from_dict(Problem, r) for r in records]
        return pkg.train_grpo(model, tokenizer, problems, task, cfg, device, seed, **common)
    raise ValueError(f"unknown train.method {method!r}")
