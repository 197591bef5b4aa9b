"""A process reward model (PRM) trainer: a token-classification head over a causal LM, one label per step.

Hand-written on purpose: TRL's `PRMTrainer` is not in TRL 1.16 (it was experimental and is being
removed upstream), so this is the small part of it the project needs, over plain transformers/torch.

Records keep TRL's stepwise shape, `{"prompt": str, "completions": [step, ...], "labels": [bool|float]}`
(soft labels in [0, 1] allowed). The model reads `prompt`, the separator, then the steps joined by the
separator; the loss (binary cross-entropy on a single logit) is taken only at each step's LAST token,
every other position carries the label -100. Each piece (prompt, step, separator) is tokenized on its
own and the ids concatenated, so a tokenizer that would merge a step's last character with the
separator (`".\\n"` as one token) cannot move or swallow a step's label position.

The outcome verifier (`kind="outcome"`) is the same model with the whole solution as its one step:
the head read at the final token is a scalar reward-model head (what AutoModelForSequenceClassification
computes), trained on the round's correct / incorrect samples.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

import torch

from ..core.errors import DataError
from ..scoring.learned import encode_steps, prompt_text
from .common import TrainResult

IGNORE = -100.0


@dataclass
class VerifierTrainConfig:
    """How a verifier / PRM is trained (the loop fills it from the `verifier:` config section)."""

    epochs: float = 1.0
    learning_rate: float = 2e-5
    batch_size: int = 8
    max_length: int = 512
    grad_clip: float = 1.0
    freeze_embeddings: bool = True  # the input embeddings (a fifth of a 135M model) stay fixed: less memory


def check_record(record: dict[str, Any], where: str = "record") -> None:
    """DataError unless `record` has `prompt`, non-empty `completions` and one label in [0, 1] per step."""
    missing = [k for k in ("prompt", "completions", "labels") if k not in record]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}; a stepwise record is "
                        '{"prompt": ..., "completions": [steps], "labels": [one per step]}.')
    steps, labels = record["completions"], record["labels"]
    if not steps or len(steps) != len(labels):
        raise DataError(f"{where}: {len(steps)} steps but {len(labels)} labels; give one label per step.")
    if any(not 0.0 <= float(x) <= 1.0 for x in labels):
        raise DataError(f"{where}: labels must be booleans or numbers in [0, 1], got {labels}.")


def encode_record(tokenizer, record: dict[str, Any], separator: str, max_length: int) -> tuple[list[int], list[float]]:
    """(input ids, per-position labels: the step's label at its last token, -100 elsewhere)."""
    ids, positions = encode_steps(tokenizer, prompt_text(record["prompt"]), record["completions"], separator, max_length)
    labels = [IGNORE] * len(ids)
    for pos, label in zip(positions, record["labels"]):
        labels[pos] = float(label)
    return ids[:max_length], labels[:max_length]


def collate(rows: list[tuple[list[int], list[float]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input_ids / attention_mask / labels of a batch."""
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE)
    for r, (ids, lab) in enumerate(rows):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        mask[r, : len(ids)] = 1
        labels[r, : len(lab)] = torch.tensor(lab)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def step_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the single logit at the labelled positions (soft labels allowed)."""
    keep = labels != IGNORE
    return torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 0][keep].float(), labels[keep].float())


def batches(rows: list, batch_size: int, epochs: float, seed: int) -> list[list]:
    """Shuffled batches over `epochs` passes (a fractional last pass takes a prefix of a shuffle)."""
    rng = random.Random(seed)
    out: list[list] = []
    n_batches = math.ceil(len(rows) / batch_size)
    total = max(1, round(n_batches * epochs))
    while len(out) < total:
        order = list(range(len(rows)))
        rng.shuffle(order)
        out += [[rows[i] for i in order[s:s + batch_size]] for s in range(0, len(order), batch_size)]
    return out[:total]


def train_prm(model, tokenizer, records: list[dict[str, Any]], cfg: VerifierTrainConfig, separator: str,
              seed: int = 0, device: str = "cpu") -> tuple[Any, TrainResult]:
    """Train `model` (a ...ForTokenClassification with num_labels=1) on stepwise `records`."""
    for i, record in enumerate(records):
        check_record(record, f"stepwise record {i}")
    if not records:
        raise DataError("train_prm needs at least one stepwise record.")
    torch.manual_seed(seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = [encode_record(tokenizer, r, separator, cfg.max_length) for r in records]
    rows = [(ids, labels) for ids, labels in encoded if any(x != IGNORE for x in labels)]
    if not rows:  # every prompt alone fills max_length
        raise DataError(f"no step of the {len(records)} records fits in max_length {cfg.max_length} tokens; raise it.")
    model.to(device).train()
    if cfg.freeze_embeddings:
        model.get_input_embeddings().requires_grad_(False)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
    result, start = TrainResult(), time.time()
    for batch in batches(rows, cfg.batch_size, cfg.epochs, seed):
        inputs = {k: v.to(device) for k, v in collate(batch, pad).items()}
        labels = inputs.pop("labels")
        loss = step_loss(model(**inputs).logits, labels)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optim.step()
        result.losses.append(float(loss.detach()))
        result.steps += 1
        result.tokens += int(inputs["attention_mask"].sum())
    result.seconds = time.time() - start
    return model.eval(), result
