"""One round's training step, the same code in the loop's process and under `accelerate launch`.

`train_round(cfg, ...)` picks the trainer from `cfg.train.method` and the records' form:

    sft   selected.jsonl: chat `messages` (the last one the assistant's), trained as prompt/completion
    dpo   pairs.jsonl: `prompt` / `chosen` / `rejected`
    grpo  train_problems.jsonl: Problem records (id, prompt, answer, meta), rewarded through `task`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.config import Config
from ..core.records import Problem, from_dict

RECORDS_FILE = {"sft": "selected.jsonl", "dpo": "pairs.jsonl", "grpo": "train_problems.jsonl"}


def prompt_completion(record: dict[str, Any]) -> dict[str, Any]:
    """SFT `messages` -> TRL prompt/completion, so the loss falls on the completion only.

    >>> prompt_completion({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    {'prompt': [{'role': 'user', 'content': 'q'}], 'completion': [{'role': 'assistant', 'content': 'a'}]}
    """
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
    common = dict(save_dir=save_dir, log_dir=log_dir, base_path=base_path)
    if method == "sft":
        return pkg.train_sft(model, tokenizer, [prompt_completion(r) for r in records], cfg.train, device, seed,
                             **common)
    if method == "dpo":
        return pkg.train_dpo(model, tokenizer, records, cfg.train, device, seed, ref_model=ref_model, **common)
    if method == "grpo":
        if task is None:
            raise ValueError("grpo training needs the task (its scorer gives the rewards)")
        problems = [from_dict(Problem, r) for r in records]
        return pkg.train_grpo(model, tokenizer, problems, task, cfg, device, seed, **common)
    raise ValueError(f"unknown train.method {method!r}")
