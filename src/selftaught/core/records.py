"""The plain records every layer passes around, and their JSONL form on disk.

`Problem` -> (generator) -> `Sample` -> (task scorer) -> `Score`; one `RoundRecord` per loop round.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Union

Message = dict[str, str]
Prompt = Union[str, list[Message]]  # plain text or chat messages
# unparsed: no final answer found; conflicting: two different final answers; truncated: cut at the token
# limit before an answer was finished (see tasks/verdicts.py). Only `correct` counts as right.
Verdict = Literal["correct", "incorrect", "unparsed", "conflicting", "truncated"]
VERDICTS: tuple[str, ...] = ("correct", "incorrect", "unparsed", "conflicting", "truncated")
NO_ANSWER: tuple[str, ...] = ("unparsed", "conflicting", "truncated")  # no single finished answer to vote with
# Generation stops at the first of these (the text is cut before it, finish_reason "stop"): the end of a
# turn and the start of an invented next one, in the chat templates of common small models (ChatML,
# Llama 3, Gemma, Phi-3, Mistral) and as plain text. `tasks.prompts.stop_strings(format)` picks per format.
# Per-token statistics the built-in backends write into Sample.stats (models/hf.py defines them), and with
# `reward` (the verifier's) and `logprob` (per token) every per-sample score `select.score` may name.
SAMPLE_STATS: tuple[str, ...] = ("mean_logprob", "mean_entropy", "self_certainty")
SAMPLE_SCORES: tuple[str, ...] = ("reward", "logprob") + SAMPLE_STATS
DEFAULT_STOP: tuple[str, ...] = (
    "<|im_end|>", "<|im_start|>", "<|eot_id|>", "<|start_header_id|>", "<end_of_turn>", "<start_of_turn>",
    "<|end|>", "<|user|>", "[INST]", "\nQuestion:", "\nUser:", "\nQ:")


@dataclass
class Problem:
    id: str
    prompt: Prompt
    answer: str | None = None  # None: label-free
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    stop: tuple[str, ...] = DEFAULT_STOP  # generation ends before the first of these; () for none

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class Sample:
    problem_id: str
    text: str
    n_tokens: int
    finish_reason: str = "stop"  # "stop" (EOS) or "length"
    logprob: float | None = None  # sum of the sampled tokens' log-probabilities
    params: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # which of the n samples for this problem
    parent: str | None = None  # sample id this one revises (refinement)
    stats: dict[str, float] = field(default_factory=dict)  # per-token stats, e.g. mean entropy

    @property
    def id(self) -> str:
        return sample_id(self.problem_id, self.index, self.parent)


def sample_id(problem_id: str, index: int, parent: str | None = None) -> str:
    base = f"{problem_id}#{index}"
    if parent:
        base += "<" + hashlib.sha1(parent.encode()).hexdigest()[:8]
    return base


@dataclass
class Score:
    sample_id: str
    extracted: str | None
    verdict: Verdict
    reward: float
    source: str = "verifier"

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"


@dataclass
class RoundRecord:
    index: int
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None


def to_dict(record: Any) -> dict[str, Any]:
    d = dataclasses.asdict(record)
    if isinstance(record, Sample):
        d["id"] = record.id
    return d


def from_dict(cls: type, d: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def dumps(record: Any) -> str:
    return json.dumps(to_dict(record) if dataclasses.is_dataclass(record) else record, ensure_ascii=False)
