"""Learned verifiers as scorers: an outcome verifier (one score per solution) and a process reward model
(one score per step), both a token-classification head with one logit over a causal LM, trained by
`selftaught.train.prm` on the model's own scored attempts and saved as a plain model folder plus
`verifier.json` (`{"kind": "outcome" | "prm", "separator": ..., ...}`).

- `LearnedVerifier(path, aggregation)` is a `StepScorer` (`step_scores(problems, steps)`: sigmoid of the
  logit at each step's last token) and a reward function `fn(problems, samples) -> list[float]` (a
  solution's score: the `min`, `prod` or `last` of its step scores; an outcome verifier has one step,
  the whole solution, so all three agree).
- Registered scorers (all in [0, 1]): `verifier` (outcome verifier at context key `verifier_path`),
  `prm` / `prm_min`, `prm_prod`, `prm_last` (PRM at context key `prm_path`). Strategies pass the keys
  through `inference.Context(scorer_options={...})`; a recipe can name `module:object` for its own.

The input is the bare question (`question_of`), the separator, then the steps joined by the separator;
each piece is tokenized alone and the ids concatenated (`encode_steps`), at training and scoring alike.
A path that is not such a verifier, or an unknown aggregation, is a ConfigError before any model loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch

from ..core.errors import ConfigError, DataError
from ..core.records import Problem, Sample
from ..tasks.steps import DEFAULT_SEPARATOR, split_steps
from .judge import question_of
from .spec import SCORERS, Scorer
from .step_scorers import STEP_SCORERS
from .step_scorers import aggregate as aggregate_steps

VERIFIER_FILE = "verifier.json"
KINDS = ("outcome", "prm", "dpo")  # dpo: V-STaR's DPO-trained verifier (scoring/vstar.py)
AGGREGATIONS = ("min", "prod", "last")


def encode_steps(tokenizer, prompt: str, steps: Sequence[str], separator: str,
                 max_length: int | None = None) -> tuple[list[int], list[int]]:
    """(input ids, the position of each step's last token) for `prompt` + separator + steps joined by it.

    Each piece is tokenized alone, so a step's last token never merges with the separator. Steps that
    do not fit in `max_length` tokens are dropped (their positions are left out).
    """
    ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    sep = tokenizer.encode(separator, add_special_tokens=False)
    ids += sep
    positions: list[int] = []
    for step in steps:
        piece = tokenizer.encode(step, add_special_tokens=False)
        if not piece:
            raise DataError(f"a step tokenizes to nothing: {step!r}; steps must be non-empty text.")
        if max_length is not None and len(ids) + len(piece) > max_length:
            break
        ids += piece
        positions.append(len(ids) - 1)
        ids += sep
    return ids, positions


def prompt_text(prompt: Any) -> str:
    """A stepwise record's prompt as text: the string itself, or the last user message of chat messages."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content", "") for m in prompt or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise DataError("a stepwise record's `prompt` must be text or chat messages with a user message.")
    return users[-1]


def aggregate(scores: Sequence[float], how: str = "min") -> float:
    """A solution's score from its step scores (0.0 for a solution with no step).

    >>> aggregate([0.9, 0.5, 0.8], "min"), aggregate([0.5, 0.5], "prod"), aggregate([0.2, 0.7], "last")
    (0.5, 0.25, 0.7)
    """
    check_aggregation(how)
    return aggregate_steps(scores, how)


def check_aggregation(how: str) -> None:
    if how not in AGGREGATIONS:
        raise ConfigError(f"unknown step-score aggregation `{how}`; use one of: {', '.join(AGGREGATIONS)}.")


def read_verifier(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """The `verifier.json` of a verifier folder, checked (ConfigError, before any model loads)."""
    folder = Path(path)
    meta_file = folder / VERIFIER_FILE
    want = {"prm": "a process reward model", "outcome": "an outcome verifier", "dpo": "a DPO-trained verifier"}.get(kind or "", "a learned verifier")
    if not meta_file.is_file():
        raise ConfigError(f"{folder} is not {want}: it has no {VERIFIER_FILE}. Give the folder a verifier was saved to "
                          f"(a run's rounds/NNN/verifier or rounds/NNN/prm, or train_verifier's save_dir).")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{meta_file}: not valid JSON ({e}); retrain the verifier or restore the file.") from None
    if meta.get("kind") not in KINDS:
        raise ConfigError(f"{meta_file}: `kind` must be one of {', '.join(KINDS)}, got {meta.get('kind')!r}.")
    if kind is not None and meta["kind"] != kind:
        raise ConfigError(f"{folder} holds {meta['kind']!r} verifier, not {want}; give a folder of kind {kind!r}.")
    return meta


class LearnedVerifier:
    """A trained outcome verifier or PRM: `step_scores` (StepScorer) and `__call__` (reward function)."""

    bounded = True

    def __init__(self, path: str | Path, aggregation: str = "min", kind: str | None = None,
                 device: str = "cpu", batch_size: int = 16, max_length: int = 512, model=None, tokenizer=None):
        check_aggregation(aggregation)
        self.meta = read_verifier(path, kind)
        if self.meta["kind"] == "dpo":
            raise ConfigError(f"{path} holds a DPO-trained (V-STaR) verifier: score with `verifier_dpo`, not a head.")
        self.kind, self.separator = self.meta["kind"], self.meta.get("separator", DEFAULT_SEPARATOR)
        self.aggregation, self.batch_size, self.max_length, self.device = aggregation, batch_size, max_length, device
        if model is None:
            from transformers import AutoModelForTokenClassification, AutoTokenizer

            model = AutoModelForTokenClassification.from_pretrained(str(path), dtype=torch.float32).to(device).eval()
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model, self.tokenizer = model, tokenizer
        self.cache: dict[tuple[str, tuple[str, ...]], list[float]] = {}  # (question, steps) -> step scores

    def steps_of(self, sample: Sample) -> list[str]:
        """The steps scored for a sample: the whole solution for an outcome verifier, else `split_steps`."""
        if self.kind == "outcome":
            return [sample.text.strip()] if sample.text.strip() else []
        return split_steps(sample.text, self.separator)

    def step_scores(self, problems: list[Problem], steps: list[list[str]]) -> list[list[float]]:
        if len(problems) != len(steps):
            raise ValueError(f"step_scores: {len(problems)} problems for {len(steps)} step lists.")
        keys = [(question_of(p), tuple(s)) for p, s in zip(problems, steps)]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            self.cache.update(zip(chunk, self._forward(chunk)))
        return [list(self.cache[k]) for k in keys]

    def _forward(self, keys: list[tuple[str, tuple[str, ...]]]) -> list[list[float]]:
        """Step scores of one batch of (question, steps)."""
        chunk = [encode_steps(self.tokenizer, q, s, self.separator, self.max_length) for q, s in keys]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, (row, _) in enumerate(chunk):
            ids[r, : len(row)], mask[r, : len(row)] = torch.tensor(row), 1
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
        probs = torch.sigmoid(logits[..., 0].float()).cpu()
        return [[float(probs[r, p]) for p in positions] for r, (_, positions) in enumerate(chunk)]

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        if len(problems) != len(samples):
            raise ValueError(f"learned verifier: {len(problems)} problems for {len(samples)} samples.")
        steps = [self.steps_of(s) for s in samples]
        scores = self.step_scores(problems, steps)
        return [aggregate(s, self.aggregation) for s in scores]


def _builder(key: str, kind: str, aggregation: str):
    def build(**context: Any) -> LearnedVerifier:
        path = context.get(key)
        if not path:
            raise ConfigError(f"the {kind} scorer needs the folder of a trained {kind} verifier: pass the scorer "
                              f"option `{key}` (inference.Context(scorer_options={{'{key}': FOLDER}})), or name a "
                              "`module:object` that builds scoring.learned.LearnedVerifier(FOLDER).")
        return LearnedVerifier(path, aggregation=aggregation, kind=kind, device=context.get("verifier_device", "cpu"))

    return build


SCORERS.register("verifier", Scorer(_builder("verifier_path", "outcome", "last"), bounded=True))
SCORERS.register("prm", Scorer(_builder("prm_path", "prm", "min"), bounded=True))
for _how in AGGREGATIONS:
    SCORERS.register(f"prm_{_how}", Scorer(_builder("prm_path", "prm", _how), bounded=True))


def _learned_prm(prm_path: str | None = None, generator: Any = None) -> LearnedVerifier:
    """The trained PRM at `prm_path` as a step scorer (beam_search / dvts / prm_best_of_n with prm=learned_prm)."""
    if not prm_path:
        raise ConfigError("step scorer `learned_prm` reads a trained PRM: give its folder with --set prm_path=DIR "
                          "(a rounds/NNN/prm/ folder of a run with verifier.kinds [prm]).")
    device = str(getattr(generator, "device", "cpu"))
    return LearnedVerifier(prm_path, kind="prm", device=device)


STEP_SCORERS.register("learned_prm", _learned_prm)
