"""Train and save a learned verifier: an outcome verifier from scored samples, or a PRM from step labels.

`train_verifier(base, records, kind, save_dir, ...)` starts a token-classification head (one logit) on
the causal LM `base` (transformers' `AutoModelForTokenClassification`: Llama, Qwen2, Mistral, Gemma,
GPT-2 and most causal LMs have one), trains it with `train.prm.train_prm`, and saves a plain model
folder plus `verifier.json` (written last, so its presence marks a finished verifier: the loop skips
training when it is there). `scoring.learned.LearnedVerifier(save_dir)` scores with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..core.errors import ConfigError, DataError
from ..core.records import Problem, Sample, Score
from ..scoring.judge import question_of
from ..scoring.learned import VERIFIER_FILE, read_verifier
from .common import TrainResult, save_model
from .prm import VerifierTrainConfig, train_prm

VERSION = "v1"


def outcome_records(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                    dedupe: bool = True) -> list[dict]:
    """Stepwise records for an outcome verifier: the whole solution as one step, labelled correct or not.

    Unparsed and truncated samples count as not correct (a verifier should rank them low); empty texts
    are left out, and with `dedupe` repeated (problem, text) pairs are kept once.
    """
    by_id = {p.id: p for p in problems}
    out, seen = [], set()
    for sample, score in zip(samples, scores):
        key = (sample.problem_id, sample.text.strip())
        if key[1] and not (dedupe and key in seen):
            seen.add(key)
            out.append({"prompt": question_of(by_id[sample.problem_id]), "completions": [sample.text.strip()],
                        "labels": [score.verdict == "correct"], "sample_id": sample.id})
    return out


def new_verifier_model(base_path: str, device: str = "cpu"):
    """(model with a fresh one-logit token-classification head on `base_path`'s LM, its tokenizer)."""
    import torch
    from transformers import AutoModelForTokenClassification

    from ..models.resolve import load_tokenizer, resolve_model

    folder = resolve_model(base_path)
    try:
        model = AutoModelForTokenClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    except ValueError as e:
        raise ConfigError(f"verifier model {base_path}: its architecture has no token-classification head in "
                          f"transformers ({str(e).splitlines()[0]}); use a Llama/Qwen2/Mistral-style model.") from None
    tokenizer = load_tokenizer(folder)
    tokenizer.padding_side = "right"
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device), tokenizer


def train_verifier(base_path: str, records: list[dict[str, Any]], kind: str, save_dir: str | Path,
                   cfg: VerifierTrainConfig | None = None, separator: str = "\n", seed: int = 0,
                   device: str = "cpu") -> TrainResult:
    """Train a verifier of `kind` (`outcome` or `prm`) on stepwise `records` and save it to `save_dir`."""
    if kind not in ("outcome", "prm"):
        raise ConfigError(f"verifier kind `{kind}`: train_verifier trains `outcome` or `prm` heads "
                          "(a DPO verifier: train.vstar.train_dpo_verifier).")
    if not records:
        raise DataError(f"no records to train the {kind} verifier on.")
    cfg = cfg or VerifierTrainConfig()
    model, tokenizer = new_verifier_model(base_path, device)
    model, result = train_prm(model, tokenizer, records, cfg, separator, seed=seed, device=device)
    labels = [float(x) for r in records for x in r["labels"]]
    result.extra.update({"records": len(records), "positive_share": round(sum(labels) / len(labels), 4)})
    save_model(model, tokenizer, save_dir)
    meta = {"kind": kind, "separator": separator, "base_model": str(base_path), "version": VERSION,
            "records": len(records), "metrics": result.metrics()}
    (Path(save_dir) / VERIFIER_FILE).write_text(json.dumps(meta, indent=1))
    return result


def is_trained(save_dir: str | Path) -> bool:
    """Whether `save_dir` holds a finished verifier (its verifier.json reads back)."""
    try:
        read_verifier(save_dir)
    except ConfigError:
        return False
    return True
